with source as (

    select * from {{ source('unhcr', 'unhcr_idmc_idps') }}

)

select
    cast(origin_iso3 as varchar) as country_iso3,
    cast(year as integer) as year,
    cast(idps as bigint) as idps,
    cast(vintage as varchar) as vintage,
    source_url,
    fetch_id,
    cast(source_file as varchar) as source_file,
    cast(file_sha256 as varchar) as file_sha256,
    cast(source_location as varchar) as source_location,
    load_id,
    loaded_at
from source
