-- DEPRECATED in 0.3.0, removed in 0.4.0: marts.fct_enforcement as 0.1.0 published it (names and shape), so
-- queries written for 0.1.0 keep working for one version after 0.2.0 changed it. Use marts.fct_enforcement, or marts.fct_enforcement_by_measure for the old rows.
select
    country_iso3, measure, fiscal_year, persons, months_reported, is_partial_year, is_rounded, source_vintage,
    data_current_as_of
from {{ ref('fct_enforcement_by_measure') }}
