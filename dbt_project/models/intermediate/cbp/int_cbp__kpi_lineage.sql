-- Where each border_encounters value is in the OHSS workbook: the annual sheet's Quantity cell of
-- the Southwest Land Border row, in the release int_cbp__kpi_values reads.
select
    cast(citizenship_code as varchar) as country_iso3,
    cast('border_encounters' as varchar) as kpi_id,
    cast(fiscal_year as integer) as year,
    cast('dhs_ohss_encounters' as varchar) as source_id,
    cast(vintage as varchar) as source_vintage,
    cast(fetch_id as varchar) as fetch_id,
    cast(file_sha256 as varchar) as file_sha256,
    cast(source_file as varchar) as file_path,
    cast(source_url as varchar) as source_url,
    cast(source_location as varchar) as location,
    cast(original_text as varchar) as original_text,
    cast(encounters as double precision) as original_value,
    cast(region || ', ' || citizenship as varchar) as series_id,
    cast(fiscal_year as integer) as original_year,
    cast('value' as varchar) as role,
    cast('int_cbp__kpi_values: the annual sheet''s Southwest Land Border row of the citizenship''s newest release, as published'
        as varchar) as step
from {{ ref('int_cbp__ohss_latest_annual_encounters') }}
where region = 'Southwest Land Border'
    and not is_partial_year
