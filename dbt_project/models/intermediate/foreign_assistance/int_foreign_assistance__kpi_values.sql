-- us_assistance_obligations and us_assistance_disbursements: the latest Country Summary release's
-- current-dollar amount per country and complete fiscal year (partial years are left out).
select
    cast(country_iso3 as varchar) as country_iso3,
    cast(
        case transaction_type_id
            when 2 then 'us_assistance_obligations'
            when 3 then 'us_assistance_disbursements'
        end as varchar
    ) as kpi_id,
    cast(fiscal_year as integer) as year,
    cast(current_amount as double precision) as value,
    cast('current US dollars' as varchar) as unit,
    cast('foreign_assistance_gov' as varchar) as source_id,
    cast('Country Summary release ' || cast(vintage as varchar) as varchar) as source_vintage,
    cast(vintage as date) as vintage_date
from {{ ref('int_foreign_assistance__country_summary_vintages') }}
where is_latest_vintage
    and not is_partial_year
    and transaction_type_id in (2, 3)
