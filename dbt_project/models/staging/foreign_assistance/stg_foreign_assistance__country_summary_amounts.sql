-- One row per country x transaction type x fiscal year x Country Summary release.
select
    cast(country_iso3 as varchar) as country_iso3,
    cast(transaction_type_id as integer) as transaction_type_id,
    cast(transaction_type_name as varchar) as transaction_type_name,
    cast(fiscal_year as integer) as fiscal_year,
    cast(current_amount as bigint) as current_amount,
    cast(constant_amount as bigint) as constant_amount,
    cast(constant_dollars_base_year as integer) as constant_dollars_base_year,
    cast(is_partial_year as boolean) as is_partial_year,
    cast(vintage as date) as vintage,
    cast(fetch_id as varchar) as fetch_id,
    cast(source_url as varchar) as source_url,
    cast(source_file as varchar) as source_file,
    cast(file_sha256 as varchar) as file_sha256,
    cast(source_location as varchar) as source_location,
    cast(original_text as varchar) as original_text
from {{ source('foreign_assistance', 'foreign_assistance_country_summary') }}
