-- The month rows of the same release int_dhs_enforcement__latest_annual uses for each country and measure.
with monthly as (

    select * from {{ ref('stg_dhs_enforcement__monthly_counts') }}

),

releases as (

    select distinct country_iso3, measure, vintage
    from {{ ref('int_dhs_enforcement__latest_annual') }}

)

select monthly.*
from monthly
inner join releases
    on monthly.country_iso3 = releases.country_iso3
    and monthly.measure = releases.measure
    and monthly.vintage = releases.vintage
