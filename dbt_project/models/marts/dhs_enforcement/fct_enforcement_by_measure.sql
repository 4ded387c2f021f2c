-- Removals, ICE removals and returns, and credible-fear referrals per country, measure and fiscal
-- year (the shape fct_enforcement had in version 0.1.0; never sum over measures), as
-- the newest release with the country's column publishes them; the release's last fiscal year is
-- partial (is_partial_year) and must not be read as a complete year.
select
    cast(country_iso3 as varchar) as country_iso3,
    cast(measure as varchar) as measure,
    cast(fiscal_year as integer) as fiscal_year,
    cast(persons as bigint) as persons,
    cast(months_reported as integer) as months_reported,
    cast(is_partial_year as boolean) as is_partial_year,
    cast(true as boolean) as is_rounded,
    cast(vintage as varchar) as source_vintage,
    {{ month_end_date('cast(left(vintage, 4) as integer)', 'cast(right(vintage, 2) as integer)') }} as vintage_date,
    cast(data_current_as_of as date) as data_current_as_of
from {{ ref('int_dhs_enforcement__latest_annual') }}
where {{ published_years('fiscal_year') }}
