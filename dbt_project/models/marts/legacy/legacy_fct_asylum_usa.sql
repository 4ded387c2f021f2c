-- DEPRECATED in 0.3.0, removed in 0.4.0: marts.fct_asylum_usa as 0.1.0 published it (names and shape), so
-- queries written for 0.1.0 keep working for one version after 0.2.0 changed it. Use marts.fct_asylum_usa, or marts.fct_asylum_usa_all_units for the old rows.
select
    country_iso3, year, authority_level, authority, procedure_type, count_unit, new_applications,
    other_applications, decisions_recognized, decisions_complementary_protection, decisions_rejected,
    decisions_otherwise_closed, decisions_total, source_vintage
from {{ ref('fct_asylum_usa_all_units') }}
