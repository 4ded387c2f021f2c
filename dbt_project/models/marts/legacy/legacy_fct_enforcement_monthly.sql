-- DEPRECATED in 0.3.0, removed in 0.4.0: marts.fct_enforcement_monthly as 0.1.0 published it (names and shape; its
-- SQL, over today's models), so queries written for 0.1.0 keep working for one version after 0.2.0
-- changed it. Use marts.fct_enforcement_monthly.
with monthly as (

    select * from {{ ref('int_dhs_enforcement__latest_monthly') }}
    where {{ published_years('fiscal_year') }}

)

select
    cast(current_month.country_iso3 as varchar) as country_iso3,
    cast(current_month.measure as varchar) as measure,
    cast(current_month.fiscal_year as integer) as fiscal_year,
    cast(current_month.fiscal_month as integer) as fiscal_month,
    cast(current_month.calendar_year as integer) as calendar_year,
    cast(current_month.calendar_month as integer) as calendar_month,
    make_date(current_month.calendar_year, current_month.calendar_month, 1) as month_start_date,
    cast(current_month.persons as bigint) as persons,
    cast(year_earlier.persons as bigint) as persons_year_earlier,
    cast(current_month.persons - year_earlier.persons as bigint) as change_vs_year_earlier,
    cast(current_month.is_partial_year as boolean) as is_partial_year,
    cast(current_month.vintage as varchar) as source_vintage
from monthly as current_month
left join monthly as year_earlier
    on current_month.country_iso3 = year_earlier.country_iso3
    and current_month.measure = year_earlier.measure
    and current_month.fiscal_month = year_earlier.fiscal_month
    and current_month.fiscal_year = year_earlier.fiscal_year + 1
