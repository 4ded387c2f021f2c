-- Cocaine seized per country, year and annex release: the drugs the seed counts as cocaine
-- (hydrochloride, crack, non-specified, smokable base and paste; not coca leaf or bush), summed.
-- A year without any such row has no row here (not reported is not zero).
select
    country_iso3,
    year,
    vintage,
    sum(kilograms) as kilograms,
    sum(published_rows) as published_rows
from {{ ref('int_unodc__seizures_by_drug') }}
where counts_as_cocaine
group by country_iso3, year, vintage
