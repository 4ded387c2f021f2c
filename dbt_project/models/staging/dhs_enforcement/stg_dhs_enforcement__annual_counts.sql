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
    cast(source_file as varchar) as source_file,
    cast(file_sha256 as varchar) as file_sha256,
    cast(source_location as varchar) as source_location,
    cast(original_text as varchar) as original_text,
    load_id,
    loaded_at
from source
