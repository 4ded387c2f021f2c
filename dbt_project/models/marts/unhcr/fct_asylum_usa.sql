-- Asylum applications and decisions in the USA by nationality, year and deciding authority, counted
-- in persons: UNHCR counted some authorities' figures in cases in some years (USCIS until 2020, the
-- immigration courts until 2001), and cases are never added to persons, so those rows are in
-- fct_asylum_usa_all_units only. Any sum of a column here is a number of persons.
select
    cast(country_iso3 as varchar) as country_iso3,
    {{ period_id("'calendar'", 'year') }} as period_id,
    cast(year as integer) as year,
    cast(authority_level as varchar) as authority_level,
    cast(authority as varchar) as authority,
    cast(procedure_type as varchar) as procedure_type,
    cast(new_applications as bigint) as new_application_count,
    cast(other_applications as bigint) as other_application_count,
    cast(decisions_recognized as bigint) as recognized_decision_count,
    cast(decisions_complementary_protection as bigint) as complementary_protection_decision_count,
    cast(decisions_rejected as bigint) as rejected_decision_count,
    cast(decisions_otherwise_closed as bigint) as otherwise_closed_decision_count,
    cast(decisions_total as bigint) as decision_count,
    cast(source_vintage as varchar) as source_vintage,
    cast(vintage_date as date) as vintage_date
from {{ ref('fct_asylum_usa_all_units') }}
where count_unit = 'persons'
