-- One row per year of each year basis the marts use: calendar years (CY) and US fiscal years (FY,
-- October to September, named after the year it ends in). kpi_annual and every fact name their year
-- by period_id, so a BI tool can tell FY2023 from CY2023 and label either.
with years as (

    select series.year
    -- one year more than dim_month's, for the fiscal year of its last October to December
    from generate_series({{ var('first_year') }} - 1, {{ var('last_period_year') }} + 1) as series (year)

),

bases as (

    select 'calendar' as year_basis
    union all
    select 'us_fiscal' as year_basis

)

select
    {{ period_id('bases.year_basis', 'years.year') }} as period_id,
    cast(bases.year_basis as varchar) as year_basis,
    cast(years.year as integer) as year,
    cast(case when bases.year_basis = 'us_fiscal'
        then make_date(years.year - 1, 10, 1) else make_date(years.year, 1, 1) end as date) as first_day,
    cast(case when bases.year_basis = 'us_fiscal'
        then make_date(years.year, 9, 30) else make_date(years.year, 12, 31) end as date) as last_day,
    cast(case when bases.year_basis = 'us_fiscal'
        then 'FY' || cast(years.year as varchar) || ' (Oct ' || cast(years.year - 1 as varchar) || ' - Sep ' || cast(years.year as varchar) || ')'
        else cast(years.year as varchar) end as varchar) as period_label
from years
cross join bases
