-- Per country x KPI: the baseline (first year with a value at or after the KPI's baseline year),
-- the latest year, the change, and its status judged by the KPI's better direction ('no judgement'
-- where dim_kpi gives none). Targets come only from the user-edited seed kpi_targets.
with annual as (

    select * from {{ ref('kpi_annual') }}

),

kpis as (

    select * from {{ ref('dim_kpi') }}

),

bounds as (

    select
        annual.country_iso3,
        annual.kpi_id,
        min(case when annual.year >= kpis.baseline_year then annual.year end) as baseline_year,
        max(annual.year) as latest_year
    from annual
    inner join kpis on annual.kpi_id = kpis.kpi_id
    group by annual.country_iso3, annual.kpi_id

),

scored as (

    select
        bounds.country_iso3,
        bounds.kpi_id,
        kpis.better_direction,
        bounds.baseline_year,
        baseline.value as baseline_value,
        bounds.latest_year,
        latest.value as latest_value,
        latest.unit,
        latest.source_vintage as latest_source_vintage,
        case when bounds.baseline_year < bounds.latest_year then latest.value - baseline.value end as change
    from bounds
    inner join kpis on bounds.kpi_id = kpis.kpi_id
    inner join annual as latest
        on bounds.country_iso3 = latest.country_iso3 and bounds.kpi_id = latest.kpi_id and bounds.latest_year = latest.year
    left join annual as baseline
        on bounds.country_iso3 = baseline.country_iso3 and bounds.kpi_id = baseline.kpi_id and bounds.baseline_year = baseline.year

),

targets as (

    select * from {{ ref('kpi_targets') }}

)

select
    cast(scored.country_iso3 as varchar) as country_iso3,
    cast(scored.kpi_id as varchar) as kpi_id,
    cast(scored.better_direction as varchar) as better_direction,
    cast(scored.baseline_year as integer) as baseline_year,
    cast(scored.baseline_value as double precision) as baseline_value,
    cast(scored.latest_year as integer) as latest_year,
    cast(scored.latest_value as double precision) as latest_value,
    cast(scored.unit as varchar) as unit,
    cast(scored.change as double precision) as change,
    cast(case when scored.change is not null and scored.baseline_value <> 0
        then scored.change / cast(abs(scored.baseline_value) as double precision) * 100 end as double precision) as change_pct,
    cast(case
        when scored.change is null then 'insufficient data'
        -- a measure on which the warehouse makes no judgement (better_direction 'none', see dim_kpi)
        when scored.better_direction = 'none' then 'no judgement'
        when scored.change = 0 then 'unchanged'
        when (scored.change > 0) = (scored.better_direction = 'higher') then 'improving'
        else 'worsening'
    end as varchar) as status,
    cast(targets.target_year as integer) as target_year,
    cast(targets.target_value as double precision) as target_value,
    cast(case
        when targets.target_value is null or scored.better_direction = 'none' then null
        when scored.better_direction = 'higher' then scored.latest_value >= targets.target_value
        else scored.latest_value <= targets.target_value
    end as boolean) as target_met_at_latest,
    cast(scored.latest_source_vintage as varchar) as latest_source_vintage
from scored
left join targets
    on scored.country_iso3 = targets.country_iso3
    and scored.kpi_id = targets.kpi_id
    and targets.target_year = (
        select min(t.target_year) from targets as t
        where t.country_iso3 = scored.country_iso3 and t.kpi_id = scored.kpi_id and t.target_year >= scored.latest_year
    )
