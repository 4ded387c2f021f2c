{{ config(materialized='incremental', incremental_strategy='replace_range', meta={'range_column': 'year'},
          on_schema_change='fail', tags=['incremental']) }}

with homicides as (

    select country_iso3, year, value as homicide_rate_per_100k, vintage
    from {{ ref('int_worldbank__latest_indicator_values') }}
    where indicator_id = 'VC.IHR.PSRC.P5'

),

vintage_counts as (

    select country_iso3, year, count(distinct vintage) as vintages_published
    from {{ ref('stg_worldbank__indicator_values') }}
    where indicator_id = 'VC.IHR.PSRC.P5'
    group by country_iso3, year

)

select
    cast(homicides.country_iso3 as varchar) as country_iso3,
    cast(homicides.year as integer) as year,
    {{ period_id("'calendar'", 'homicides.year') }} as period_id,
    cast(homicides.homicide_rate_per_100k as double precision) as homicide_rate_per_100k,
    cast(homicides.vintage as varchar) as source_vintage,
    cast(homicides.vintage as date) as vintage_date,
    cast(vintage_counts.vintages_published as integer) as vintages_published
from homicides
inner join vintage_counts
    on homicides.country_iso3 = vintage_counts.country_iso3
    and homicides.year = vintage_counts.year
where {{ incremental_years('homicides.year') }}
    and {{ published_years('homicides.year') }}
