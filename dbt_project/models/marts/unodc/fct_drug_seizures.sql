-- Drugs seized per country, reference year and drug (kilograms, every report summed), from each
-- country's newest annex release.
with seizures as (

    select * from {{ ref('int_unodc__seizures_by_drug') }}

),

newest as (

    select country_iso3, max(vintage) as vintage from seizures group by country_iso3

)

select
    cast(seizures.country_iso3 as varchar) as country_iso3,
    cast(seizures.year as integer) as year,
    cast(seizures.drug_group as varchar) as drug_group,
    cast(seizures.drug_subgroup as varchar) as drug_subgroup,
    cast(seizures.drug_name as varchar) as drug_name,
    cast(seizures.kilograms as double precision) as kilograms,
    cast(seizures.published_rows as integer) as published_rows,
    cast(seizures.counts_as_cocaine as boolean) as counts_as_cocaine,
    cast(seizures.vintage as varchar) as source_vintage
from seizures
inner join newest
    on seizures.country_iso3 = newest.country_iso3
    and seizures.vintage = newest.vintage
where {{ published_years('seizures.year') }}
