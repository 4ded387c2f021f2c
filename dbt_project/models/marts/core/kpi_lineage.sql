-- One row per original value a published kpi_annual cell is made from: the sources' lineage models
-- (every model tagged kpi_lineage, listed in macros/sources/<source>.sql) kept for the cells
-- kpi_annual publishes, plus the population each count KPI's value_per_100k is divided by.
with source_lineage as (

    {{ union_source_models('kpi_lineage') }}

),

published as (

    select country_iso3, kpi_id, year, source_id, value_per_100k
    from {{ ref('kpi_annual') }}

),

population as (

    select * from {{ ref('int_worldbank__population_lineage') }}

),

cell_originals as (

    select source_lineage.*
    from source_lineage
    inner join published
        on source_lineage.country_iso3 = published.country_iso3
        and source_lineage.kpi_id = published.kpi_id
        and source_lineage.year = published.year
        and source_lineage.source_id = published.source_id

),

-- the population row of the cell's year, as the cell's denominator
per_100k_denominators as (

    select
        published.country_iso3,
        published.kpi_id,
        published.year,
        population.source_id,
        population.source_vintage,
        population.fetch_id,
        population.file_sha256,
        population.file_path,
        population.source_url,
        population.location,
        population.original_text,
        population.original_value,
        population.series_id,
        population.original_year,
        population.role,
        population.step
    from published
    inner join population
        on published.country_iso3 = population.country_iso3
        and published.year = population.year
    where published.value_per_100k is not null

),

unioned as (

    select * from cell_originals
    union all
    select * from per_100k_denominators

)

select
    cast(country_iso3 as varchar) as country_iso3,
    cast(kpi_id as varchar) as kpi_id,
    cast(year as integer) as year,
    cast(source_id as varchar) as source_id,
    cast(fetch_id as varchar) as fetch_id,
    cast(source_vintage as varchar) as source_vintage,
    cast(file_sha256 as varchar) as file_sha256,
    cast(file_path as varchar) as file_path,
    cast(source_url as varchar) as source_url,
    cast(location as varchar) as location,
    cast(original_text as varchar) as original_text,
    cast(original_value as double precision) as original_value,
    cast(role as varchar) as role,
    cast(step as varchar) as step,
    cast(series_id as varchar) as series_id,
    cast(original_year as integer) as original_year
from unioned
