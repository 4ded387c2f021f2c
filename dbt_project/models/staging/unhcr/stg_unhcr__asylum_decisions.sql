with source as (

    select * from {{ source('unhcr', 'unhcr_asylum_decisions') }}

)

select
    cast(origin_iso3 as varchar) as origin_iso3,
    cast(asylum_iso3 as varchar) as asylum_iso3,
    cast(year as integer) as year,
    cast(procedure_type as varchar) as procedure_type,
    cast(authority_level as varchar) as authority_level,
    cast(count_unit as varchar) as count_unit,
    cast(dec_recognized as bigint) as recognized,
    cast(dec_other as bigint) as complementary_protection,
    cast(dec_rejected as bigint) as rejected,
    cast(dec_closed as bigint) as otherwise_closed,
    cast(dec_total as bigint) as total_decisions,
    cast(vintage as varchar) as vintage,
    source_url,
    fetch_id,
    load_id,
    loaded_at
from source
