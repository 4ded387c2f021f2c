-- Drugs seized per country, reference year and drug (kilograms, every report summed), from each
-- country's newest annex release.
with seizures as (

    select * from {{ ref('int_unodc__seizures_by_drug') }}

),

latest as (

    {{ newest_vintage_rows('seizures', ['country_iso3'], 'make_date(cast(right(vintage, 4) as integer), 12, 31)') }}

)

select
    cast(country_iso3 as varchar) as country_iso3,
    cast(year as integer) as year,
    cast(drug_group as varchar) as drug_group,
    cast(drug_subgroup as varchar) as drug_subgroup,
    cast(drug_name as varchar) as drug_name,
    cast(kilograms as double precision) as seized_kg,
    -- the same weight where the drug counts as cocaine (seed unodc_drug_names), so a sum of this
    -- column is cocaine_seized_kg; plant material weighed as harvested is never in it
    cast(case when counts_as_cocaine then kilograms end as double precision) as cocaine_seized_kg,
    cast(published_rows as integer) as published_rows,
    cast(counts_as_cocaine as boolean) as counts_as_cocaine,
    {{ period_id("'calendar'", 'year') }} as period_id,
    cast(vintage as varchar) as source_vintage,
    make_date(cast(right(vintage, 4) as integer), 12, 31) as vintage_date
from latest
where {{ published_years('year') }}
