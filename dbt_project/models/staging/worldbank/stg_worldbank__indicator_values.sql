with source as (

    select * from {{ source('worldbank', 'worldbank_indicator_values') }}

)

select
    cast(country_iso3 as varchar) as country_iso3,
    cast(indicator_id as varchar) as indicator_id,
    cast(year as integer) as year,
    cast(value as double precision) as value,
    cast(vintage as date) as vintage,
    source_url,
    fetch_id,
    cast(source_file as varchar) as source_file,
    cast(file_sha256 as varchar) as file_sha256,
    cast(source_location as varchar) as source_location,
    cast(original_text as varchar) as original_text,
    load_id,
    loaded_at
from source
where {{ loaded_years('year') }}
