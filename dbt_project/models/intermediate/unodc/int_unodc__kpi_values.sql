-- cocaine_seized_kg from each country's newest annex release (vintages are the annexes' reference
-- years, e.g. 2018-2022, and sort in release order); a year the release has no cocaine row for
-- has no value.
with cocaine as (

    select * from {{ ref('int_unodc__cocaine_seized') }}
    where kilograms is not null

),

latest as (

    {{ newest_vintage_rows('cocaine', ['country_iso3'], 'make_date(cast(right(vintage, 4) as integer), 12, 31)') }}

)

select
    cast(country_iso3 as varchar) as country_iso3,
    cast('cocaine_seized_kg' as varchar) as kpi_id,
    cast(year as integer) as year,
    cast(kilograms as double precision) as value,
    cast('kilograms' as varchar) as unit,
    cast('unodc_drug_seizures' as varchar) as source_id,
    cast('World Drug Report annex 7.1, ' || vintage as varchar) as source_vintage,
    make_date(cast(right(vintage, 4) as integer), 12, 31) as vintage_date
from latest
