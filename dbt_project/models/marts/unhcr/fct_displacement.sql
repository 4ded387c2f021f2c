-- Displaced people from each country per year (UNHCR, newest vintage), with IDMC's IDP estimate
-- beside UNHCR's own IDP count.
select
    cast(country_iso3 as varchar) as country_iso3,
    cast(year as integer) as year,
    cast(refugees as bigint) as refugees,
    cast(asylum_seekers as bigint) as asylum_seekers,
    cast(returned_refugees as bigint) as returned_refugees,
    cast(idps as bigint) as idps_unhcr,
    cast(returned_idps as bigint) as returned_idps,
    cast(others_of_concern as bigint) as others_of_concern,
    cast(idps_idmc as bigint) as idps_idmc,
    cast(asylum_countries_with_refugees as integer) as asylum_countries_with_refugees,
    cast(vintage as varchar) as source_vintage,
    cast(idmc_vintage as varchar) as idmc_vintage
from {{ ref('int_unhcr__latest_origin_stocks') }}
where {{ published_years('year') }}
