-- Every WDI value of every vintage (release) loaded, in the shape kpi_revisions unions.
select
    cast('worldbank_wdi' as varchar) as source_id,
    cast(country_iso3 as varchar) as country_iso3,
    cast(indicator_id as varchar) as series_id,
    cast(year as integer) as year,
    cast(vintage as varchar) as vintage,
    cast(value as double precision) as value
from {{ ref('stg_worldbank__indicator_values') }}
