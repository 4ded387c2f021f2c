-- Every vintage's stocks by origin, in the shape kpi_revisions unions.
with stocks as (

    select * from {{ ref('int_unhcr__origin_stocks') }}

),

unioned as (

    select country_iso3, 'refugees' as series_id, year, vintage, refugees as value from stocks where refugees is not null
    union all
    select country_iso3, 'asylum_seekers' as series_id, year, vintage, asylum_seekers as value from stocks where asylum_seekers is not null
    union all
    select country_iso3, 'idps' as series_id, year, vintage, idps as value from stocks where idps is not null

)

select
    cast('unhcr_population' as varchar) as source_id,
    cast(country_iso3 as varchar) as country_iso3,
    cast(series_id as varchar) as series_id,
    cast(year as integer) as year,
    cast(vintage as varchar) as vintage,
    cast(value as double precision) as value,
    cast(case series_id
        when 'refugees' then 'refugees_by_origin'
        when 'asylum_seekers' then 'asylum_seekers_by_origin'
        when 'idps' then 'idps'
    end as varchar) as kpi_id,
    cast(vintage as date) as vintage_date
from unioned
