-- One row per country x fiscal year x USG sector x transaction type x API release.
select
    cast(country_iso3 as varchar) as country_iso3,
    cast(fiscal_year as integer) as fiscal_year,
    cast(usg_category_id as integer) as usg_category_id,
    cast(usg_category_name as varchar) as usg_category_name,
    cast(usg_sector_id as integer) as usg_sector_id,
    cast(usg_sector_name as varchar) as usg_sector_name,
    cast(transaction_type_id as integer) as transaction_type_id,
    cast(transaction_type_name as varchar) as transaction_type_name,
    cast(current_amount as bigint) as current_amount,
    cast(is_partial_year as boolean) as is_partial_year,
    cast(vintage as date) as vintage,
    cast(fetch_id as varchar) as fetch_id
from {{ source('foreign_assistance', 'foreign_assistance_usg_sector_amounts') }}
