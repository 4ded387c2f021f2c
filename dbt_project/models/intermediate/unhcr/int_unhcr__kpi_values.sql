-- The UNHCR KPIs in the shape every source gives kpi_annual (calendar years, from the input year):
--   refugees_by_origin, asylum_seekers_by_origin: summed over the countries of asylum;
--   idps: UNHCR's, from the origin's own row; idps_idmc: IDMC's estimate (another definition);
--   asylum_applications_usa: new applications with USCIS (IN) plus the immigration courts (EO),
--     only for years where both report in persons (cases are never added to persons).
with stocks as (

    select * from {{ ref('int_unhcr__latest_origin_stocks') }}

),

asylum_new as (

    select
        country_iso3,
        year,
        sum(new_applications) as value,
        max(vintage) as vintage,
        count(distinct authority_level) as authorities,
        sum(case when count_unit = 'persons' then 0 else 1 end) as rows_not_in_persons
    from {{ ref('int_unhcr__asylum_usa') }}
    where authority_level in ('IN', 'EO')
        and new_applications is not null
    group by country_iso3, year

),

unioned as (

    select country_iso3, 'refugees_by_origin' as kpi_id, year, refugees as value, vintage from stocks where refugees is not null
    union all
    select country_iso3, 'asylum_seekers_by_origin' as kpi_id, year, asylum_seekers as value, vintage from stocks where asylum_seekers is not null
    union all
    select country_iso3, 'idps' as kpi_id, year, idps as value, vintage from stocks where idps is not null
    union all
    select country_iso3, 'idps_idmc' as kpi_id, year, idps_idmc as value, idmc_vintage as vintage from stocks where idps_idmc is not null
    union all
    select country_iso3, 'asylum_applications_usa' as kpi_id, year, value, vintage
    from asylum_new
    where authorities = 2 and rows_not_in_persons = 0

)

select
    cast(country_iso3 as varchar) as country_iso3,
    cast(kpi_id as varchar) as kpi_id,
    cast(year as integer) as year,
    cast(value as double precision) as value,
    cast('persons' as varchar) as unit,
    cast('unhcr_population' as varchar) as source_id,
    cast('UNHCR ' || vintage as varchar) as source_vintage,
    cast(vintage as date) as vintage_date
from unioned
