-- Where each us_assistance_obligations and us_assistance_disbursements value is in its Country
-- Summary CSV: the current_amount field of the release's line, in the release kpi_annual reads.
select
    cast(country_iso3 as varchar) as country_iso3,
    cast(
        case transaction_type_id
            when 2 then 'us_assistance_obligations'
            when 3 then 'us_assistance_disbursements'
        end as varchar
    ) as kpi_id,
    cast(fiscal_year as integer) as year,
    cast('foreign_assistance_gov' as varchar) as source_id,
    cast('Country Summary release ' || cast(vintage as varchar) as varchar) as source_vintage,
    cast(fetch_id as varchar) as fetch_id,
    cast(file_sha256 as varchar) as file_sha256,
    cast(source_file as varchar) as file_path,
    cast(source_url as varchar) as source_url,
    cast(source_location as varchar) as location,
    cast(original_text as varchar) as original_text,
    cast(current_amount as double precision) as original_value,
    cast(transaction_type_name as varchar) as series_id,
    cast(fiscal_year as integer) as original_year,
    cast('value' as varchar) as role,
    cast('int_foreign_assistance__kpi_values: the current-dollar amount of the latest Country Summary release, as published'
        as varchar) as step
from {{ ref('int_foreign_assistance__country_summary_vintages') }}
where is_latest_vintage
    and not is_partial_year
    and transaction_type_id in (2, 3)
