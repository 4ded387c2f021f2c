-- Asylum applications and decisions in the USA by nationality, year and deciding authority, in
-- the unit UNHCR counts them in (cases or persons: never add the two). The shape fct_asylum_usa had
-- in version 0.1.0; fct_asylum_usa now holds the rows counted in persons.
select
    cast(country_iso3 as varchar) as country_iso3,
    cast(year as integer) as year,
    cast(authority_level as varchar) as authority_level,
    cast(case authority_level
        when 'IN' then 'USCIS (affirmative applications)'
        when 'EO' then 'Immigration courts, EOIR (defensive applications)'
        when 'AR' then 'Administrative review (appeals)'
        else authority_level
    end as varchar) as authority,
    cast(procedure_type as varchar) as procedure_type,
    cast(count_unit as varchar) as count_unit,
    cast(new_applications as bigint) as new_applications,
    cast(other_applications as bigint) as other_applications,
    cast(recognized as bigint) as decisions_recognized,
    cast(complementary_protection as bigint) as decisions_complementary_protection,
    cast(rejected as bigint) as decisions_rejected,
    cast(otherwise_closed as bigint) as decisions_otherwise_closed,
    cast(total_decisions as bigint) as decisions_total,
    cast(vintage as varchar) as source_vintage,
    cast(vintage as date) as vintage_date
from {{ ref('int_unhcr__asylum_usa') }}
where {{ published_years('year') }}
