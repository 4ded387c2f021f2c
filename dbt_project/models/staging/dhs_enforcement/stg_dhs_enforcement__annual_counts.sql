with source as (

    select * from {{ source('dhs_enforcement', 'dhs_enforcement_annual') }}

)

select
    cast(citizenship_code as varchar) as country_iso3,
    cast(measure as varchar) as measure,
    cast(fiscal_year as integer) as fiscal_year,
    cast(persons as bigint) as persons,
    cast(months_reported as integer) as months_reported,
    cast(is_partial_year as boolean) as is_partial_year,
    cast(vintage as varchar) as vintage,
    cast(data_current_as_of as date) as data_current_as_of,
    cast(citizenship as varchar) as citizenship_published,
    source_url,
    fetch_id,
    load_id,
    loaded_at
from source
