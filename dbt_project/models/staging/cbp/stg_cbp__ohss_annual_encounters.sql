-- OHSS Border Patrol encounters per fiscal year by region and citizenship, every release kept.
select
    cast(fiscal_year as integer) as fiscal_year,
    cast(region as varchar) as region,
    cast(citizenship as varchar) as citizenship,
    cast(citizenship_code as varchar) as citizenship_code,
    cast(encounters as bigint) as encounters,
    cast(months_reported as integer) as months_reported,
    cast(is_partial_year as boolean) as is_partial_year,
    cast(vintage as varchar) as vintage,
    source_url,
    fetch_id,
    cast(source_file as varchar) as source_file,
    cast(file_sha256 as varchar) as file_sha256,
    cast(source_location as varchar) as source_location,
    cast(original_text as varchar) as original_text,
    load_id,
    loaded_at
from {{ source('cbp', 'cbp_ohss_encounters_annual') }}
