{{ config(materialized='incremental', incremental_strategy='replace_range', meta={'range_column': 'fiscal_year'},
          on_schema_change='fail', tags=['incremental']) }}

-- Encounters per country and month (fct_border_encounters' one series) against the same month a
-- year earlier, to show surges.
with monthly as (

    select * from {{ ref('fct_border_encounters') }}

)

select
    cast(current_month.country_iso3 as varchar) as country_iso3,
    cast(current_month.period_id as varchar) as period_id,
    cast(current_month.fiscal_year as integer) as fiscal_year,
    cast(current_month.fiscal_month as integer) as fiscal_month,
    current_month.month_start_date,
    cast(current_month.encounter_count as bigint) as encounter_count,
    cast(year_earlier.encounter_count as bigint) as encounter_count_year_earlier,
    cast(current_month.encounter_count - year_earlier.encounter_count as bigint) as change_vs_year_earlier_count,
    cast(current_month.encounter_count - year_earlier.encounter_count as double precision)
        / cast(nullif(year_earlier.encounter_count, 0) as double precision) * 100 as change_vs_year_earlier_pct,
    cast(current_month.source_id as varchar) as source_id,
    cast(current_month.source_vintage as varchar) as source_vintage,
    cast(current_month.vintage_date as date) as vintage_date,
    cast(current_month.is_partial_year as boolean) as is_partial_year
from monthly as current_month
left join monthly as year_earlier
    on current_month.country_iso3 = year_earlier.country_iso3
    and current_month.fiscal_month = year_earlier.fiscal_month
    and current_month.fiscal_year = year_earlier.fiscal_year + 1
where {{ incremental_years('current_month.fiscal_year') }}
