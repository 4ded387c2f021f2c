-- Displaced people from each country per year (UNHCR, newest vintage), with IDMC's IDP estimate
-- beside UNHCR's own IDP count.
select
    cast(country_iso3 as varchar) as country_iso3,
    {{ period_id("'calendar'", 'year') }} as period_id,
    cast(year as integer) as year,
    cast(refugees as bigint) as refugee_count,
    cast(asylum_seekers as bigint) as asylum_seeker_count,
    cast(returned_refugees as bigint) as returned_refugee_count,
    cast(idps as bigint) as idp_unhcr_count,
    cast(returned_idps as bigint) as returned_idp_count,
    cast(others_of_concern as bigint) as other_of_concern_count,
    cast(idps_idmc as bigint) as idp_idmc_count,
    cast(asylum_countries_with_refugees as integer) as asylum_country_with_refugees_count,
    cast(vintage as varchar) as source_vintage,
    cast(vintage as date) as vintage_date,
    cast(idmc_vintage as varchar) as idmc_source_vintage,
    cast(idmc_vintage as date) as idmc_vintage_date
from {{ ref('int_unhcr__latest_origin_stocks') }}
where {{ published_years('year') }}
