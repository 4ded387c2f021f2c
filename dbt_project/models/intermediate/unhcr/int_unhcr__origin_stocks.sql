-- UNHCR stocks by country of origin, per vintage: refugees, asylum-seekers and the others summed
-- over every country of asylum; IDPs read from the row whose asylum country is the origin itself
-- (NULL when UNHCR published no such row). A sum of published counts carries UNHCR's rounding of
-- small cells; a count UNHCR does not publish stays out of the sum (NULL if none is published).
with population as (

    select * from {{ ref('stg_unhcr__population') }}

)

select
    origin_iso3 as country_iso3,
    year,
    vintage,
    sum(refugees) as refugees,
    sum(asylum_seekers) as asylum_seekers,
    sum(returned_refugees) as returned_refugees,
    max(case when asylum_iso3 = origin_iso3 then idps end) as idps,
    max(case when asylum_iso3 = origin_iso3 then returned_idps end) as returned_idps,
    sum(others_of_concern) as others_of_concern,
    sum(case when coalesce(refugees, 0) > 0 then 1 else 0 end) as asylum_countries_with_refugees
from population
group by origin_iso3, year, vintage
