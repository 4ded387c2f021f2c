-- OHSS Border Patrol monthly encounters by region and citizenship, every release kept.
select
    cast(fiscal_year as integer) as fiscal_year,
    cast(fiscal_month as integer) as fiscal_month,
    cast(calendar_year as integer) as calendar_year,
    cast(calendar_month as integer) as calendar_month,
    cast(region as varchar) as region,
    cast(citizenship as varchar) as citizenship,
    cast(citizenship_code as varchar) as citizenship_code,
    cast(encounters as bigint) as encounters,
    cast(is_partial_year as boolean) as is_partial_year,
    cast(vintage as varchar) as vintage,
    source_url,
    fetch_id,
    load_id,
    loaded_at
from {{ source('cbp', 'cbp_ohss_encounters_monthly') }}
