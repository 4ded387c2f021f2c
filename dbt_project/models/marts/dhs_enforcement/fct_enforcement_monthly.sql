-- The same per month, one column per measure, beside the same month a year earlier, as
-- fct_border_encounters_monthly does for encounters.
with monthly as (

    select
        country_iso3,
        fiscal_year,
        fiscal_month,
        calendar_year,
        calendar_month,
        sum(case when measure = 'removals' then persons end) as removal_count,
        sum(case when measure = 'ice_removals_and_returns' then persons end) as ice_removal_and_return_count,
        sum(case when measure = 'credible_fear_referrals' then persons end) as credible_fear_referral_count,
        max(case when is_partial_year then 1 else 0 end) = 1 as is_partial_year,
        max(vintage) as vintage
    from {{ ref('int_dhs_enforcement__latest_monthly') }}
    where {{ published_years('fiscal_year') }}
    group by country_iso3, fiscal_year, fiscal_month, calendar_year, calendar_month

)

select
    cast(current_month.country_iso3 as varchar) as country_iso3,
    {{ period_id("'us_fiscal'", 'current_month.fiscal_year') }} as period_id,
    cast(current_month.fiscal_year as integer) as fiscal_year,
    cast(current_month.fiscal_month as integer) as fiscal_month,
    cast(current_month.calendar_year as integer) as calendar_year,
    cast(current_month.calendar_month as integer) as calendar_month,
    make_date(current_month.calendar_year, current_month.calendar_month, 1) as month_start_date,
    cast(current_month.removal_count as bigint) as removal_count,
    cast(current_month.ice_removal_and_return_count as bigint) as ice_removal_and_return_count,
    cast(current_month.credible_fear_referral_count as bigint) as credible_fear_referral_count,
    cast(year_earlier.removal_count as bigint) as removal_count_year_earlier,
    cast(year_earlier.ice_removal_and_return_count as bigint) as ice_removal_and_return_count_year_earlier,
    cast(year_earlier.credible_fear_referral_count as bigint) as credible_fear_referral_count_year_earlier,
    cast(current_month.is_partial_year as boolean) as is_partial_year,
    cast(current_month.vintage as varchar) as source_vintage,
    {{ month_end_date('cast(left(current_month.vintage, 4) as integer)', 'cast(right(current_month.vintage, 2) as integer)') }} as vintage_date
from monthly as current_month
left join monthly as year_earlier
    on current_month.country_iso3 = year_earlier.country_iso3
    and current_month.fiscal_month = year_earlier.fiscal_month
    and current_month.fiscal_year = year_earlier.fiscal_year + 1
