-- One row per calendar month the marts can hold, with its calendar and US fiscal year and month, so
-- the monthly facts (keyed by month_start_date) roll up to either year basis.
with months as (

    select
        years.calendar_year,
        month_numbers.calendar_month
    from generate_series({{ var('first_year') }} - 1, {{ var('last_period_year') }}) as years (calendar_year)
    cross join generate_series(1, 12) as month_numbers (calendar_month)

)

select
    make_date(calendar_year, calendar_month, 1) as month_start_date,
    cast(calendar_year as integer) as calendar_year,
    cast(calendar_month as integer) as calendar_month,
    cast(case when calendar_month >= 10 then calendar_year + 1 else calendar_year end as integer) as fiscal_year,
    cast((calendar_month + 2) % 12 + 1 as integer) as fiscal_month,
    {{ period_id("'calendar'", 'calendar_year') }} as calendar_period_id,
    {{ period_id("'us_fiscal'", 'case when calendar_month >= 10 then calendar_year + 1 else calendar_year end') }} as fiscal_period_id
from months
