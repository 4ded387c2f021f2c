{{ config(materialized='incremental', incremental_strategy='replace_range', meta={'range_column': 'year'},
          on_schema_change='fail', tags=['incremental']) }}

-- Completion rates per country and year, one column per education level (a rate is never added to
-- another level's), each with its change since the previous year that has data.
with completion as (

    select
        country_iso3,
        indicator_id,
        year,
        value as completion_rate_pct,
        vintage
    from {{ ref('int_worldbank__latest_indicator_values') }}
    where indicator_id in ('SE.PRM.CMPT.ZS', 'SE.SEC.CMPT.LO.ZS')

),

with_previous as (

    select
        *,
        completion_rate_pct - lag(completion_rate_pct) over (
            partition by country_iso3, indicator_id order by year
        ) as change_pp_since_previous
    from completion

),

by_year as (

    select
        country_iso3,
        year,
        max(case when indicator_id = 'SE.PRM.CMPT.ZS' then completion_rate_pct end) as primary_completion_rate_pct,
        max(case when indicator_id = 'SE.PRM.CMPT.ZS' then change_pp_since_previous end) as primary_change_pp_since_previous,
        max(case when indicator_id = 'SE.PRM.CMPT.ZS' then vintage end) as primary_vintage_date,
        max(case when indicator_id = 'SE.SEC.CMPT.LO.ZS' then completion_rate_pct end) as lower_secondary_completion_rate_pct,
        max(case when indicator_id = 'SE.SEC.CMPT.LO.ZS' then change_pp_since_previous end) as lower_secondary_change_pp_since_previous,
        max(case when indicator_id = 'SE.SEC.CMPT.LO.ZS' then vintage end) as lower_secondary_vintage_date
    from with_previous
    group by country_iso3, year

)

select
    cast(country_iso3 as varchar) as country_iso3,
    {{ period_id("'calendar'", 'year') }} as period_id,
    cast(year as integer) as year,
    cast(primary_completion_rate_pct as double precision) as primary_completion_rate_pct,
    cast(primary_change_pp_since_previous as double precision) as primary_change_pp_since_previous,
    cast(lower_secondary_completion_rate_pct as double precision) as lower_secondary_completion_rate_pct,
    cast(lower_secondary_change_pp_since_previous as double precision) as lower_secondary_change_pp_since_previous,
    cast(primary_vintage_date as date) as primary_vintage_date,
    cast(lower_secondary_vintage_date as date) as lower_secondary_vintage_date
from by_year
where {{ incremental_years('year') }}
    and {{ published_years('year') }}
