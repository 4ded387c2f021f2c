-- CBP Southwest land border monthly encounters (Border Patrol and Field Operations), every release kept.
select
    cast(fiscal_year as integer) as fiscal_year,
    cast(fiscal_month as integer) as fiscal_month,
    cast(calendar_year as integer) as calendar_year,
    cast(calendar_month as integer) as calendar_month,
    cast(component as varchar) as component,
    cast(demographic as varchar) as demographic,
    cast(citizenship as varchar) as citizenship,
    cast(citizenship_code as varchar) as citizenship_code,
    cast(title_of_authority as varchar) as title_of_authority,
    cast(encounter_type as varchar) as encounter_type,
    cast(encounters as bigint) as encounters,
    cast(is_partial_year as boolean) as is_partial_year,
    cast(vintage as varchar) as vintage,
    source_url,
    fetch_id,
    load_id,
    loaded_at
from {{ source('cbp', 'cbp_sbo_encounters_monthly') }}
