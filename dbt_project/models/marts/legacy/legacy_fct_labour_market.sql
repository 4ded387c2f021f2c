-- DEPRECATED in 0.3.0, removed in 0.4.0: marts.fct_labour_market as 0.1.0 published it (names and shape), so
-- queries written for 0.1.0 keep working for one version after 0.2.0 changed it. Use marts.fct_labour_market.
select
    country_iso3, year, labour_force_count as labour_force, unemployment_rate_pct, employed_count as employed_persons,
    jobs_created_count as jobs_created, employment_to_population_pct, population_count as population,
    labour_force_vintage_date as labour_force_vintage, unemployment_rate_vintage_date as unemployment_rate_vintage
from {{ ref('fct_labour_market') }}
