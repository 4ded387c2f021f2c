{{ config(materialized='incremental', incremental_strategy='replace_range', meta={'range_column': 'fiscal_year'},
          on_schema_change='fail', tags=['incremental']) }}

-- Border encounters per country of citizenship and fiscal month, one publisher and one definition:
-- U.S. Border Patrol at the Southwest land border, from the DHS OHSS workbook's newest release (the
-- border_encounters KPI's series). Any sum of encounter_count is a true figure: a complete fiscal
-- year's sum is the KPI (to the publisher's rounding). CBP's own release, the other regions and the
-- demographic and authority breakdowns are in fct_border_encounters_all_sources.
with encounters as (

    select * from {{ ref('fct_border_encounters_all_sources') }}

)

select
    cast(citizenship_code as varchar) as country_iso3,
    {{ period_id("'us_fiscal'", 'fiscal_year') }} as period_id,
    cast(fiscal_year as integer) as fiscal_year,
    cast(fiscal_month as integer) as fiscal_month,
    cast(calendar_year as integer) as calendar_year,
    cast(calendar_month as integer) as calendar_month,
    month_start_date,
    cast(encounter_count as bigint) as encounter_count,
    cast(is_partial_year as boolean) as is_partial_year,
    cast(is_rounded as boolean) as is_rounded,
    cast(source_id as varchar) as source_id,
    cast(source_vintage as varchar) as source_vintage,
    cast(vintage_date as date) as vintage_date
from encounters
where source_id = 'dhs_ohss_encounters'
    and region = 'Southwest Land Border'
    and citizenship_kind = 'country'
    and {{ incremental_years('fiscal_year') }}
