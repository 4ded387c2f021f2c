-- Removals, ICE removals and returns, and credible-fear referrals per country and fiscal year, one
-- column each (ICE's removals and returns overlap DHS removals: never add the columns together), from
-- the newest release with the country's column. A sum of a column is a true figure; the release's
-- last fiscal year is partial (is_partial_year) and kpi_annual leaves it out.
with by_measure as (

    select * from {{ ref('fct_enforcement_by_measure') }}

)

select
    cast(country_iso3 as varchar) as country_iso3,
    {{ period_id("'us_fiscal'", 'fiscal_year') }} as period_id,
    cast(fiscal_year as integer) as fiscal_year,
    cast(sum(case when measure = 'removals' then persons end) as bigint) as removal_count,
    cast(sum(case when measure = 'ice_removals_and_returns' then persons end) as bigint) as ice_removal_and_return_count,
    cast(sum(case when measure = 'credible_fear_referrals' then persons end) as bigint) as credible_fear_referral_count,
    cast(max(months_reported) as integer) as months_reported,
    cast(max(case when is_partial_year then 1 else 0 end) = 1 as boolean) as is_partial_year,
    cast(true as boolean) as is_rounded,
    cast(max(source_vintage) as varchar) as source_vintage,
    cast(max(vintage_date) as date) as vintage_date,
    cast(max(data_current_as_of) as date) as data_current_as_of
from by_measure
group by country_iso3, fiscal_year
