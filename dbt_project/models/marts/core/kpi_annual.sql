-- One row per country x KPI x year, from every model tagged kpi_values (one per source, listed
-- in macros/sources/<source>.sql; see macros/source_models.sql). The sources also give the year
-- before the first published year (an input, loaded so that the first year has its change); it
-- is dropped after the changes are computed.
with kpi_values as (

    {{ union_source_models('kpi_values') }}

),

with_previous as (

    select
        *,
        lag(year) over (partition by country_iso3, kpi_id order by year) as previous_year,
        lag(value) over (partition by country_iso3, kpi_id order by year) as previous_value
    from kpi_values

),

population as (

    select * from {{ ref('int_worldbank__population') }}

)

select
    cast(with_previous.country_iso3 as varchar) as country_iso3,
    cast(dim_country.country_name as varchar) as country_name,
    cast(with_previous.kpi_id as varchar) as kpi_id,
    cast(dim_kpi.kpi_name as varchar) as kpi_name,
    cast(with_previous.year as integer) as year,
    cast(dim_kpi.year_basis as varchar) as year_basis,
    {{ period_id('dim_kpi.year_basis', 'with_previous.year') }} as period_id,
    cast(with_previous.value as double precision) as value,
    cast(with_previous.unit as varchar) as unit,
    cast(case when with_previous.previous_year = with_previous.year - 1
        then with_previous.value - with_previous.previous_value end as double precision) as yoy_change,
    cast(case when with_previous.previous_year = with_previous.year - 1 and with_previous.previous_value <> 0
        then (with_previous.value - with_previous.previous_value)
            / cast(abs(with_previous.previous_value) as double precision) * 100 end as double precision) as yoy_change_pct,
    cast(with_previous.source_id as varchar) as source_id,
    cast(with_previous.source_vintage as varchar) as source_vintage,
    cast(with_previous.vintage_date as date) as vintage_date,
    -- count KPIs per 100,000 people of the country's population in the same (or fiscal year's) year
    cast(case when dim_kpi.measure_kind = 'count' and population.population > 0
        then with_previous.value / cast(population.population as double precision) * 100000 end as double precision) as value_per_100k
from with_previous
inner join {{ ref('dim_country') }} as dim_country
    on with_previous.country_iso3 = dim_country.country_iso3
inner join {{ ref('dim_kpi') }} as dim_kpi
    on with_previous.kpi_id = dim_kpi.kpi_id
left join population
    on with_previous.country_iso3 = population.country_iso3
    and with_previous.year = population.year
where {{ published_years('with_previous.year') }}
