-- Asylum applications and decisions in the USA per nationality, year, authority and unit, from
-- the newest vintage. Cases and persons are kept apart (count_unit): UNHCR switches units over
-- time, and a case can hold several persons.
with applications as (

    select * from {{ ref('stg_unhcr__asylum_applications') }}

),

decisions as (

    select * from {{ ref('stg_unhcr__asylum_decisions') }}

),

vintages as (

    select origin_iso3, vintage from applications
    union all
    select origin_iso3, vintage from decisions

),

newest as (

    select distinct origin_iso3, vintage
    from ({{ newest_vintage_rows('vintages', ['origin_iso3'], 'cast(vintage as date)') }}) as newest_vintages

),

applied as (

    select
        applications.origin_iso3,
        applications.year,
        applications.procedure_type,
        applications.authority_level,
        applications.count_unit,
        applications.vintage,
        sum(case when applications.application_type = 'N' then applications.applied end) as new_applications,
        sum(case when applications.application_type <> 'N' then applications.applied end) as other_applications
    from applications
    inner join newest
        on applications.origin_iso3 = newest.origin_iso3
        and applications.vintage = newest.vintage
    group by applications.origin_iso3, applications.year, applications.procedure_type, applications.authority_level,
        applications.count_unit, applications.vintage

),

decided as (

    select decisions.*
    from decisions
    inner join newest
        on decisions.origin_iso3 = newest.origin_iso3
        and decisions.vintage = newest.vintage

)

select
    coalesce(applied.origin_iso3, decided.origin_iso3) as country_iso3,
    coalesce(applied.year, decided.year) as year,
    coalesce(applied.procedure_type, decided.procedure_type) as procedure_type,
    coalesce(applied.authority_level, decided.authority_level) as authority_level,
    coalesce(applied.count_unit, decided.count_unit) as count_unit,
    applied.new_applications,
    applied.other_applications,
    decided.recognized,
    decided.complementary_protection,
    decided.rejected,
    decided.otherwise_closed,
    decided.total_decisions,
    coalesce(applied.vintage, decided.vintage) as vintage
from applied
full outer join decided
    on applied.origin_iso3 = decided.origin_iso3
    and applied.year = decided.year
    and applied.procedure_type = decided.procedure_type
    and applied.authority_level = decided.authority_level
    and applied.count_unit = decided.count_unit
