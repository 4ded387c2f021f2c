-- Each KPI's definition (seed dim_kpi_definitions) with its source's licence from the source's own
-- contract (orchestration/sources/<source>/, written to meta.source_contracts before every build).
with definitions as (

    select * from {{ ref('dim_kpi_definitions') }}

),

contracts as (

    select * from {{ source('meta', 'source_contracts') }}

)

select
    cast(definitions.kpi_id as varchar) as kpi_id,
    cast(definitions.kpi_name as varchar) as kpi_name,
    cast(definitions.programme as varchar) as programme,
    cast(definitions.unit as varchar) as unit,
    cast(definitions.better_direction as varchar) as better_direction,
    cast(definitions.baseline_year as integer) as baseline_year,
    cast(definitions.source_id as varchar) as source_id,
    cast(definitions.derivation as varchar) as derivation,
    cast(definitions.strategy_area as varchar) as strategy_area,
    cast(coalesce(definitions.framework_kpi, '') as varchar) as framework_kpi,
    cast(definitions.publisher as varchar) as publisher,
    cast(contracts.licence as varchar) as licence,
    cast(definitions.year_basis as varchar) as year_basis,
    cast(definitions.measure_kind as varchar) as measure_kind
from definitions
left join contracts
    on definitions.source_id = contracts.source_id
