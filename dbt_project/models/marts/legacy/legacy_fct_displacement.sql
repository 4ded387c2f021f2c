-- DEPRECATED in 0.3.0, removed in 0.4.0: marts.fct_displacement as 0.1.0 published it (names and shape), so
-- queries written for 0.1.0 keep working for one version after 0.2.0 changed it. Use marts.fct_displacement.
select
    country_iso3, year, refugee_count as refugees, asylum_seeker_count as asylum_seekers,
    returned_refugee_count as returned_refugees, idp_unhcr_count as idps_unhcr, returned_idp_count as returned_idps,
    other_of_concern_count as others_of_concern, idp_idmc_count as idps_idmc,
    asylum_country_with_refugees_count as asylum_countries_with_refugees, source_vintage,
    idmc_source_vintage as idmc_vintage
from {{ ref('fct_displacement') }}
