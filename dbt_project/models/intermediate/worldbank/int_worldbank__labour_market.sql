-- Employment and jobs created are derived here, never in the loaders:
-- employed = labour force x (1 - unemployment rate / 100), both ILO modelled estimates, rounded to
-- whole persons (a count of people; the product of two estimates carries no meaningful fraction);
-- jobs created = employed minus employed in the previous year, both rounded, so it is whole too and
-- equals the difference a reader computes from the published employment (NULL when that year is missing).
with latest as (

    select * from {{ ref('int_worldbank__latest_indicator_values') }}
    where indicator_id in ('SL.TLF.TOTL.IN', 'SL.UEM.TOTL.ZS', 'SL.EMP.TOTL.SP.ZS', 'SP.POP.TOTL')

),

country_years as (

    select
        country_iso3,
        year,
        max(case when indicator_id = 'SL.TLF.TOTL.IN' then value end) as labour_force,
        max(case when indicator_id = 'SL.TLF.TOTL.IN' then vintage end) as labour_force_vintage,
        max(case when indicator_id = 'SL.UEM.TOTL.ZS' then value end) as unemployment_rate_pct,
        max(case when indicator_id = 'SL.UEM.TOTL.ZS' then vintage end) as unemployment_rate_vintage,
        max(case when indicator_id = 'SL.EMP.TOTL.SP.ZS' then value end) as employment_to_population_pct,
        max(case when indicator_id = 'SP.POP.TOTL' then value end) as population
    from latest
    group by country_iso3, year

),

with_employment as (

    select
        *,
        round(labour_force * (1 - unemployment_rate_pct / cast(100 as double precision))) as employed_persons
    from country_years

),

with_previous as (

    select
        *,
        lag(year) over (partition by country_iso3 order by year) as previous_year,
        lag(employed_persons) over (partition by country_iso3 order by year) as previous_employed_persons
    from with_employment

)

select
    country_iso3,
    year,
    labour_force,
    unemployment_rate_pct,
    employed_persons,
    case
        when previous_year = year - 1 then employed_persons - previous_employed_persons
    end as jobs_created,
    employment_to_population_pct,
    population,
    labour_force_vintage,
    unemployment_rate_vintage
from with_previous
