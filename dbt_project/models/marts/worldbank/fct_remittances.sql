-- Personal remittances received per country and year, in current US$ and as a share of GDP, each
-- from its series' newest vintage (the two series can come from different releases).
with remittances as (

    select
        country_iso3,
        year,
        max(case when indicator_id = 'BX.TRF.PWKR.CD.DT' then value end) as remittances_current_usd,
        max(case when indicator_id = 'BX.TRF.PWKR.CD.DT' then vintage end) as current_usd_vintage,
        max(case when indicator_id = 'BX.TRF.PWKR.DT.GD.ZS' then value end) as remittances_pct_gdp,
        max(case when indicator_id = 'BX.TRF.PWKR.DT.GD.ZS' then vintage end) as pct_gdp_vintage
    from {{ ref('int_worldbank__latest_indicator_values') }}
    where indicator_id in ('BX.TRF.PWKR.CD.DT', 'BX.TRF.PWKR.DT.GD.ZS')
        and {{ published_years('year') }}
    group by country_iso3, year

)

select
    cast(country_iso3 as varchar) as country_iso3,
    {{ period_id("'calendar'", 'year') }} as period_id,
    cast(year as integer) as year,
    cast(remittances_current_usd as double precision) as remittances_current_usd,
    cast(remittances_pct_gdp as double precision) as remittances_pct_gdp,
    cast(current_usd_vintage as date) as current_usd_vintage_date,
    cast(pct_gdp_vintage as date) as pct_gdp_vintage_date
from remittances
