-- US assistance per country, fiscal year and US Government sector (ForeignAssistance.gov API by USG
-- sector, HND and GTM), newest release: obligations and disbursements side by side, one row per
-- sector, so a sum over sectors is the country's sector-attributed total for the year.
with sectors as (

    select * from {{ ref('int_foreign_assistance__usg_sector_vintages') }}
    where is_latest_vintage
        and {{ published_years('fiscal_year') }}

)

select
    cast(country_iso3 as varchar) as country_iso3,
    {{ period_id("'us_fiscal'", 'fiscal_year') }} as period_id,
    cast(fiscal_year as integer) as fiscal_year,
    cast(usg_category_name as varchar) as sector_category,
    cast(usg_sector_id as integer) as usg_sector_id,
    cast(usg_sector_name as varchar) as sector,
    cast(sum(case when transaction_type_name = 'Obligations' then current_amount end) as bigint) as obligations_usd,
    cast(sum(case when transaction_type_name = 'Disbursements' then current_amount end) as bigint) as disbursements_usd,
    cast(max(case when is_partial_year then 1 else 0 end) = 1 as boolean) as is_partial_year,
    cast('API by USG sector release ' || cast(max(vintage) as varchar) as varchar) as source_vintage,
    cast(max(vintage) as date) as vintage_date
from sectors
group by country_iso3, fiscal_year, usg_category_name, usg_sector_id, usg_sector_name
