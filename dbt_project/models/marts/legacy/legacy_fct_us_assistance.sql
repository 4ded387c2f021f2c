-- DEPRECATED in 0.3.0, removed in 0.4.0: marts.fct_us_assistance as 0.1.0 published it (names and shape), so
-- queries written for 0.1.0 keep working for one version after 0.2.0 changed it. Use marts.fct_us_assistance, or marts.fct_us_assistance_all_vintages for the old rows.
select
    country_iso3, fiscal_year, transaction_type, aggregation_level, sector_category, usg_sector_id, sector,
    current_amount, vintage, is_latest_vintage, is_partial_year, source_dataset
from {{ ref('fct_us_assistance_all_vintages') }}
