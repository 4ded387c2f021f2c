-- Where each removals and credible_fear_referrals value is in its workbook: the fiscal-year Total
-- row's cell of the country's column, in the release int_dhs_enforcement__kpi_values reads.
select
    cast(country_iso3 as varchar) as country_iso3,
    cast(measure as varchar) as kpi_id,
    cast(fiscal_year as integer) as year,
    cast('dhs_ohss_enforcement' as varchar) as source_id,
    cast('OHSS enforcement tables ' || vintage as varchar) as source_vintage,
    cast(fetch_id as varchar) as fetch_id,
    cast(file_sha256 as varchar) as file_sha256,
    cast(source_file as varchar) as file_path,
    cast(source_url as varchar) as source_url,
    cast(source_location as varchar) as location,
    cast(original_text as varchar) as original_text,
    cast(persons as double precision) as original_value,
    cast(measure as varchar) as series_id,
    cast(fiscal_year as integer) as original_year,
    cast('value' as varchar) as role,
    cast('int_dhs_enforcement__latest_annual: the fiscal-year Total row of the newest release with the country''s column'
        as varchar) as step
from {{ ref('int_dhs_enforcement__latest_annual') }}
where measure in ('removals', 'credible_fear_referrals')
    and not is_partial_year
