select
    cast(kpi_id as varchar) as kpi_id,
    cast(kpi_name as varchar) as kpi_name,
    cast(programme as varchar) as programme,
    cast(unit as varchar) as unit,
    cast(better_direction as varchar) as better_direction,
    cast(baseline_year as integer) as baseline_year,
    cast(source_id as varchar) as source_id,
    cast(derivation as varchar) as derivation
from {{ ref('dim_kpi_definitions') }}
