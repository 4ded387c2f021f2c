with source as (

    select * from {{ source('unhcr', 'unhcr_asylum_applications') }}

)

select
    cast(origin_iso3 as varchar) as origin_iso3,
    cast(asylum_iso3 as varchar) as asylum_iso3,
    cast(year as integer) as year,
    cast(procedure_type as varchar) as procedure_type,
    cast(application_type as varchar) as application_type,
    cast(authority_level as varchar) as authority_level,
    cast(count_unit as varchar) as count_unit,
    cast(applied as bigint) as applied,
    cast(vintage as varchar) as vintage,
    source_url,
    fetch_id,
    cast(source_file as varchar) as source_file,
    cast(file_sha256 as varchar) as file_sha256,
    cast(source_location as varchar) as source_location,
    load_id,
    loaded_at
from source
