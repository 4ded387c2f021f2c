-- Kilograms per country, year, drug and annex release: the published rows of a key (separate
-- reports) summed; NULL when none of them has a weight. counts_as_cocaine from the seed.
with seizures as (

    select * from {{ ref('stg_unodc__drug_seizures') }}

),

drug_names as (

    select * from {{ ref('unodc_drug_names') }}

)

select
    seizures.country_iso3,
    seizures.year,
    seizures.drug_group,
    seizures.drug_subgroup,
    seizures.drug_name,
    seizures.vintage,
    sum(seizures.kilograms) as kilograms,
    count(*) as published_rows,
    coalesce(max(case when drug_names.counts_as_cocaine then 1 else 0 end), 0) = 1 as counts_as_cocaine
from seizures
left join drug_names
    on seizures.drug_group = drug_names.drug_group
    and seizures.drug_subgroup = drug_names.drug_subgroup
    and seizures.drug_name = drug_names.drug_name
group by seizures.country_iso3, seizures.year, seizures.drug_group, seizures.drug_subgroup, seizures.drug_name, seizures.vintage
