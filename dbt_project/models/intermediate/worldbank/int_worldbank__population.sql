-- Population (SP.POP.TOTL, newest vintage of each country's series) per country and year: the
-- denominator of kpi_annual.value_per_100k.
select
    cast(country_iso3 as varchar) as country_iso3,
    cast(year as integer) as year,
    cast(value as double precision) as population,
    cast(vintage as varchar) as population_vintage
from {{ ref('int_worldbank__latest_indicator_values') }}
where indicator_id = 'SP.POP.TOTL'
