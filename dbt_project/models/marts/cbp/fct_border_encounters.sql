{{ config(materialized='incremental', incremental_strategy='replace_range', range_column='fiscal_year',
          on_schema_change='fail', tags=['incremental']) }}

-- Border encounters per citizenship (country or publisher group), month, region or component and
-- demographic, from both publishers; see the YAML for how the two sources relate.
with monthly as (

    select * from {{ ref('int_cbp__monthly_encounters') }}

)

select
    cast(citizenship_code as varchar) as citizenship_code,
    cast(case when citizenship_code = 'OTHER' then 'group' else 'country' end as varchar) as citizenship_kind,
    cast(citizenship as varchar) as citizenship,
    cast(fiscal_year as integer) as fiscal_year,
    cast(fiscal_month as integer) as fiscal_month,
    cast(calendar_year as integer) as calendar_year,
    cast(calendar_month as integer) as calendar_month,
    make_date(calendar_year, calendar_month, 1) as month_start_date,
    cast(region as varchar) as region,
    cast(component as varchar) as component,
    cast(demographic as varchar) as demographic,
    cast(title_of_authority as varchar) as title_of_authority,
    cast(encounter_type as varchar) as encounter_type,
    cast(encounters as bigint) as encounter_count,
    cast(source_id as varchar) as source_id,
    cast(source_vintage as varchar) as source_vintage,
    cast(is_partial_year as boolean) as is_partial_year,
    cast(is_rounded as boolean) as is_rounded
from monthly
where {{ incremental_years('fiscal_year') }}
