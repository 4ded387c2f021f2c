-- DEPRECATED in 0.3.0, removed in 0.4.0: marts.fct_remittances as 0.1.0 published it (names and shape), so
-- queries written for 0.1.0 keep working for one version after 0.2.0 changed it. Use marts.fct_remittances.
select
    country_iso3, year, remittances_current_usd, remittances_pct_gdp, current_usd_vintage_date as current_usd_vintage,
    pct_gdp_vintage_date as pct_gdp_vintage
from {{ ref('fct_remittances') }}
