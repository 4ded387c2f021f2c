-- US assistance per country and fiscal year, as the newest Country Summary release publishes it: one
-- row per country and year, obligations and disbursements side by side, so that a sum of either
-- column is a true figure (a complete year's is the KPI). Sectors are in fct_us_assistance_by_sector,
-- every release in fct_us_assistance_all_vintages.
with country_totals as (

    select * from {{ ref('int_foreign_assistance__country_summary_vintages') }}
    where is_latest_vintage
        and transaction_type_id in (2, 3)
        and {{ published_years('fiscal_year') }}

)

select
    cast(country_iso3 as varchar) as country_iso3,
    {{ period_id("'us_fiscal'", 'fiscal_year') }} as period_id,
    cast(fiscal_year as integer) as fiscal_year,
    cast(sum(case when transaction_type_id = 2 then current_amount end) as bigint) as obligations_usd,
    cast(sum(case when transaction_type_id = 3 then current_amount end) as bigint) as disbursements_usd,
    cast(max(case when is_partial_year then 1 else 0 end) = 1 as boolean) as is_partial_year,
    cast('Country Summary release ' || cast(max(vintage) as varchar) as varchar) as source_vintage,
    cast(max(vintage) as date) as vintage_date
from country_totals
group by country_iso3, fiscal_year
