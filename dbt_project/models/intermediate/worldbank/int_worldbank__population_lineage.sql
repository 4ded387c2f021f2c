-- Where each population figure (SP.POP.TOTL, the denominator of kpi_annual.value_per_100k) is in
-- its archived file: the same newest-vintage rows int_worldbank__population reads.
select
    cast(country_iso3 as varchar) as country_iso3,
    cast(year as integer) as year,
    cast('worldbank_wdi' as varchar) as source_id,
    cast(vintage as varchar) as source_vintage,
    cast(fetch_id as varchar) as fetch_id,
    cast(file_sha256 as varchar) as file_sha256,
    cast(source_file as varchar) as file_path,
    cast(source_url as varchar) as source_url,
    cast(source_location as varchar) as location,
    cast(original_text as varchar) as original_text,
    cast(value as double precision) as original_value,
    cast(indicator_id as varchar) as series_id
from {{ ref('int_worldbank__latest_indicator_values') }}
where indicator_id = 'SP.POP.TOTL'
