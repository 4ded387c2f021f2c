-- DEPRECATED in 0.3.0, removed in 0.4.0: marts.fct_drug_seizures as 0.1.0 published it (names and shape), so
-- queries written for 0.1.0 keep working for one version after 0.2.0 changed it. Use marts.fct_drug_seizures.
select
    country_iso3, year, drug_group, drug_subgroup, drug_name, seized_kg as kilograms, published_rows, counts_as_cocaine,
    source_vintage
from {{ ref('fct_drug_seizures') }}
