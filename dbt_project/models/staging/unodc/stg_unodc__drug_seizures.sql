with source as (

    select * from {{ source('unodc', 'unodc_drug_seizures') }}

)

select
    cast(country_iso3 as varchar) as country_iso3,
    cast(year as integer) as year,
    cast(drug_group as varchar) as drug_group,
    cast(drug_subgroup as varchar) as drug_subgroup,
    cast(drug_name as varchar) as drug_name,
    cast(kilograms as double precision) as kilograms,
    cast(sheet_row as integer) as sheet_row,
    cast(vintage as varchar) as vintage,
    source_url,
    fetch_id,
    cast(source_file as varchar) as source_file,
    cast(file_sha256 as varchar) as file_sha256,
    cast(source_location as varchar) as source_location,
    cast(original_text as varchar) as original_text,
    load_id,
    loaded_at
from source
