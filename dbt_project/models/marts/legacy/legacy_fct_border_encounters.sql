-- DEPRECATED in 0.3.0, removed in 0.4.0: marts.fct_border_encounters as 0.1.0 published it (names and shape), so
-- queries written for 0.1.0 keep working for one version after 0.2.0 changed it. Use marts.fct_border_encounters, or marts.fct_border_encounters_all_sources for the old rows.
select
    citizenship_code, citizenship_kind, citizenship, fiscal_year, fiscal_month, calendar_year, calendar_month,
    month_start_date, region, component, demographic, title_of_authority, encounter_type, encounter_count,
    source_id, source_vintage, is_partial_year, is_rounded
from {{ ref('fct_border_encounters_all_sources') }}
