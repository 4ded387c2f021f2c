-- The World Bank KPIs in the shape every source gives kpi_annual, from the input year before the
-- first published year (kpi_annual computes the changes, then drops that year).
with labour_market as (

    select * from {{ ref('int_worldbank__labour_market') }}

),

latest as (

    select * from {{ ref('int_worldbank__latest_indicator_values') }}

),

employment as (

    select
        country_iso3,
        'employment' as kpi_id,
        year,
        employed_persons as value,
        'persons' as unit,
        {{ later_vintage('labour_force_vintage', 'unemployment_rate_vintage') }} as source_vintage
    from labour_market
    where employed_persons is not null

),

jobs_created as (

    select
        country_iso3,
        'jobs_created' as kpi_id,
        year,
        jobs_created as value,
        'persons' as unit,
        {{ later_vintage('labour_force_vintage', 'unemployment_rate_vintage') }} as source_vintage
    from labour_market
    where jobs_created is not null

),

published_rates as (

    select
        country_iso3,
        case indicator_id
            when 'SE.PRM.CMPT.ZS' then 'primary_completion_rate'
            when 'SE.SEC.CMPT.LO.ZS' then 'lower_secondary_completion_rate'
            when 'VC.IHR.PSRC.P5' then 'homicide_rate'
            when 'BX.TRF.PWKR.CD.DT' then 'remittances_usd'
            when 'BX.TRF.PWKR.DT.GD.ZS' then 'remittances_pct_gdp'
        end as kpi_id,
        year,
        value,
        case indicator_id
            when 'VC.IHR.PSRC.P5' then 'per 100,000 people'
            when 'BX.TRF.PWKR.CD.DT' then 'current US dollars'
            when 'BX.TRF.PWKR.DT.GD.ZS' then 'percent of GDP'
            else 'percent of relevant age group'
        end as unit,
        vintage as source_vintage
    from latest
    where indicator_id in ('SE.PRM.CMPT.ZS', 'SE.SEC.CMPT.LO.ZS', 'VC.IHR.PSRC.P5', 'BX.TRF.PWKR.CD.DT', 'BX.TRF.PWKR.DT.GD.ZS')

),

unioned as (

    select * from employment
    union all
    select * from jobs_created
    union all
    select * from published_rates

)

select
    cast(country_iso3 as varchar) as country_iso3,
    cast(kpi_id as varchar) as kpi_id,
    cast(year as integer) as year,
    cast(value as double precision) as value,
    cast(unit as varchar) as unit,
    cast('worldbank_wdi' as varchar) as source_id,
    cast(source_vintage as varchar) as source_vintage,
    cast(source_vintage as date) as vintage_date
from unioned
