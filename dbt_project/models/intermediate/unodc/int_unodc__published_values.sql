-- Every annex release's cocaine seized per country and year, in the shape kpi_revisions unions.
select
    cast('unodc_drug_seizures' as varchar) as source_id,
    cast(country_iso3 as varchar) as country_iso3,
    cast('cocaine_seized_kg' as varchar) as series_id,
    cast(year as integer) as year,
    cast(vintage as varchar) as vintage,
    cast(kilograms as double precision) as value,
    cast('cocaine_seized_kg' as varchar) as kpi_id,
    make_date(cast(right(vintage, 4) as integer), 12, 31) as vintage_date
from {{ ref('int_unodc__cocaine_seized') }}
where kilograms is not null
