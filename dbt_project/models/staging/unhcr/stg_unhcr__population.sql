with source as (

    select * from {{ source('unhcr', 'unhcr_population') }}

)

select
    cast(origin_iso3 as varchar) as origin_iso3,
    cast(asylum_iso3 as varchar) as asylum_iso3,
    cast(asylum_name as varchar) as asylum_name,
    cast(year as integer) as year,
    cast(refugees as bigint) as refugees,
    cast(asylum_seekers as bigint) as asylum_seekers,
    cast(returned_refugees as bigint) as returned_refugees,
    cast(idps as bigint) as idps,
    cast(returned_idps as bigint) as returned_idps,
    cast(stateless as bigint) as stateless,
    cast(ooc as bigint) as others_of_concern,
    cast(vintage as varchar) as vintage,
    source_url,
    fetch_id,
    cast(source_file as varchar) as source_file,
    cast(file_sha256 as varchar) as file_sha256,
    cast(source_location as varchar) as source_location,
    load_id,
    loaded_at
from source
