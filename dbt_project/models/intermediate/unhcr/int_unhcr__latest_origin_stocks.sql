-- Each country's stocks from the newest UNHCR vintage (every release restates the whole history),
-- with IDMC's IDP estimate beside them from its own newest vintage (never added to UNHCR's idps).
with stocks as (

    select * from {{ ref('int_unhcr__origin_stocks') }}

),

idmc as (

    select country_iso3, year, idps as idps_idmc, vintage as idmc_vintage
    from {{ ref('stg_unhcr__idmc_idps') }}

),

latest_idmc as (

    {{ newest_vintage_rows('idmc', ['country_iso3'], 'cast(idmc_vintage as date)', vintage='idmc_vintage') }}

),

latest_stocks as (

    {{ newest_vintage_rows('stocks', ['country_iso3'], 'cast(vintage as date)') }}

)

select
    coalesce(latest_stocks.country_iso3, latest_idmc.country_iso3) as country_iso3,
    coalesce(latest_stocks.year, latest_idmc.year) as year,
    latest_stocks.refugees,
    latest_stocks.asylum_seekers,
    latest_stocks.returned_refugees,
    latest_stocks.idps,
    latest_stocks.returned_idps,
    latest_stocks.others_of_concern,
    latest_stocks.asylum_countries_with_refugees,
    latest_idmc.idps_idmc,
    latest_stocks.vintage,
    latest_idmc.idmc_vintage
from latest_stocks
full outer join latest_idmc
    on latest_stocks.country_iso3 = latest_idmc.country_iso3
    and latest_stocks.year = latest_idmc.year
