-- Where each cocaine_seized_kg value comes from, in the shape marts.kpi_lineage unions: every
-- published row of a drug the seed counts as cocaine, of the country's newest annex release, with
-- a weight (a summand: int_unodc__cocaine_seized adds them; rows without a weight stay out).
with seizures as (

    select * from {{ ref('stg_unodc__drug_seizures') }}
    where kilograms is not null

),

cocaine_names as (

    select drug_group, drug_subgroup, drug_name from {{ ref('unodc_drug_names') }}
    where counts_as_cocaine

),

cocaine as (

    select seizures.*
    from seizures
    inner join cocaine_names
        on seizures.drug_group = cocaine_names.drug_group
        and seizures.drug_subgroup = cocaine_names.drug_subgroup
        and seizures.drug_name = cocaine_names.drug_name

),

latest as (

    {{ newest_vintage_rows('cocaine', ['country_iso3'], 'make_date(cast(right(vintage, 4) as integer), 12, 31)') }}

)

select
    cast(country_iso3 as varchar) as country_iso3,
    cast('cocaine_seized_kg' as varchar) as kpi_id,
    cast(year as integer) as year,
    cast('unodc_drug_seizures' as varchar) as source_id,
    cast('World Drug Report annex 7.1, ' || vintage as varchar) as source_vintage,
    cast(fetch_id as varchar) as fetch_id,
    cast(file_sha256 as varchar) as file_sha256,
    cast(source_file as varchar) as file_path,
    cast(source_url as varchar) as source_url,
    cast(source_location as varchar) as location,
    cast(original_text as varchar) as original_text,
    cast(kilograms as double precision) as original_value,
    cast('cocaine_seized_kg' as varchar) as series_id,
    cast(year as integer) as original_year,
    cast('summand' as varchar) as role,
    cast('int_unodc__cocaine_seized: kilograms of every row of a drug the seed unodc_drug_names counts as cocaine, summed'
        as varchar) as step
from latest
