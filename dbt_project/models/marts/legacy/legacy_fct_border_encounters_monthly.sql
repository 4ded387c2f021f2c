-- DEPRECATED in 0.3.0, removed in 0.4.0: marts.fct_border_encounters_monthly as 0.1.0 published it (names and shape; its
-- SQL, over today's models), so queries written for 0.1.0 keep working for one version after 0.2.0
-- changed it. Use marts.fct_border_encounters_monthly.
with encounters as (

    select * from {{ ref('fct_border_encounters_all_sources') }}

),

monthly as (

    select
        source_id,
        source_vintage,
        citizenship_code,
        citizenship_kind,
        region,
        component,
        fiscal_year,
        fiscal_month,
        month_start_date,
        is_partial_year,
        sum(encounter_count) as encounter_count
    from encounters
    group by
        source_id, source_vintage, citizenship_code, citizenship_kind, region, component,
        fiscal_year, fiscal_month, month_start_date, is_partial_year

)

select
    cast(current_month.citizenship_code as varchar) as citizenship_code,
    cast(current_month.citizenship_kind as varchar) as citizenship_kind,
    cast(current_month.fiscal_year as integer) as fiscal_year,
    cast(current_month.fiscal_month as integer) as fiscal_month,
    current_month.month_start_date,
    cast(current_month.region as varchar) as region,
    cast(current_month.component as varchar) as component,
    cast(current_month.encounter_count as bigint) as encounter_count,
    cast(year_earlier.encounter_count as bigint) as encounter_count_year_earlier,
    cast(current_month.encounter_count - year_earlier.encounter_count as bigint) as change_vs_year_earlier,
    cast(current_month.encounter_count - year_earlier.encounter_count as double precision)
        / cast(nullif(year_earlier.encounter_count, 0) as double precision) * 100 as change_vs_year_earlier_pct,
    cast(current_month.source_id as varchar) as source_id,
    cast(current_month.source_vintage as varchar) as source_vintage,
    cast(current_month.is_partial_year as boolean) as is_partial_year
from monthly as current_month
left join monthly as year_earlier
    on current_month.source_id = year_earlier.source_id
    and current_month.citizenship_code = year_earlier.citizenship_code
    and current_month.region = year_earlier.region
    and current_month.component = year_earlier.component
    and current_month.fiscal_month = year_earlier.fiscal_month
    and current_month.fiscal_year = year_earlier.fiscal_year + 1
