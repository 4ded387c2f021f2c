-- Every published value of the series that publishers revise, per vintage (release), with what
-- changed since the previous vintage that carried the same country, series and year. The marts
-- use the latest vintage; this shows analysts the history behind it. The values come from every
-- model tagged kpi_revisions (one per source that keeps vintages; see macros/source_models.sql).
with published as (

    {{ union_source_models('kpi_revisions') }}

),

with_previous as (

    select
        *,
        lag(vintage) over (partition by source_id, country_iso3, series_id, year order by vintage_date) as previous_vintage,
        lag(vintage_date) over (partition by source_id, country_iso3, series_id, year order by vintage_date) as previous_vintage_date,
        lag(value) over (partition by source_id, country_iso3, series_id, year order by vintage_date) as previous_value,
        {{ is_newest_vintage(['source_id', 'country_iso3', 'series_id']) }} as is_latest_vintage
    from published

)

select
    cast(source_id as varchar) as source_id,
    cast(country_iso3 as varchar) as country_iso3,
    cast(series_id as varchar) as series_id,
    cast(kpi_id as varchar) as kpi_id,
    cast(year as integer) as year,
    cast(vintage as varchar) as vintage,
    cast(vintage_date as date) as vintage_date,
    cast(value as double precision) as value,
    cast(previous_vintage as varchar) as previous_vintage,
    cast(previous_vintage_date as date) as previous_vintage_date,
    cast(previous_value as double precision) as previous_value,
    cast(value - previous_value as double precision) as revision,
    cast(case when previous_value <> 0
        then (value - previous_value) / cast(abs(previous_value) as double precision) * 100 end as double precision) as revision_pct,
    cast(is_latest_vintage as boolean) as is_latest_vintage
from with_previous
where {{ published_years('year') }}
