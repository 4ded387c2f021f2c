select
    cast(kpi_id as varchar) as kpi_id,
    cast(kpi_name as varchar) as kpi_name,
    cast(programme as varchar) as programme,
    cast(unit as varchar) as unit,
    cast(better_direction as varchar) as better_direction,
    cast(baseline_year as integer) as baseline_year,
    cast(source_id as varchar) as source_id,
    cast(derivation as varchar) as derivation,
    cast(strategy_area as varchar) as strategy_area,
    cast(coalesce(framework_kpi, '') as varchar) as framework_kpi,
    cast(publisher as varchar) as publisher,
    cast(licence as varchar) as licence,
    cast(year_basis as varchar) as year_basis,
    cast(measure_kind as varchar) as measure_kind
from {{ ref('dim_kpi_definitions') }}
