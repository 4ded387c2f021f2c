{{ config(materialized='incremental', incremental_strategy='replace_range', meta={'range_column': 'year'},
          on_schema_change='fail', tags=['incremental']) }}

select
    cast(country_iso3 as varchar) as country_iso3,
    {{ period_id("'calendar'", 'year') }} as period_id,
    cast(year as integer) as year,
    cast(labour_force as double precision) as labour_force_count,
    cast(unemployment_rate_pct as double precision) as unemployment_rate_pct,
    cast(employed_persons as double precision) as employed_count,
    cast(jobs_created as double precision) as jobs_created_count,
    cast(employment_to_population_pct as double precision) as employment_to_population_pct,
    cast(population as double precision) as population_count,
    cast(labour_force_vintage as date) as labour_force_vintage_date,
    cast(unemployment_rate_vintage as date) as unemployment_rate_vintage_date
from {{ ref('int_worldbank__labour_market') }}
where {{ incremental_years('year') }}
    and {{ published_years('year') }}
