with source as (

    select * from {{ source('dhs_enforcement', 'dhs_enforcement_monthly') }}

)

select
    cast(citizenship_code as varchar) as country_iso3,
    cast(measure as varchar) as measure,
    cast(fiscal_year as integer) as fiscal_year,
    cast(fiscal_month as integer) as fiscal_month,
    cast(calendar_year as integer) as calendar_year,
    cast(calendar_month as integer) as calendar_month,
    cast(persons as bigint) as persons,
    cast(is_partial_year as boolean) as is_partial_year,
    cast(vintage as varchar) as vintage,
    source_url,
    fetch_id,
    load_id,
    loaded_at
from source
