-- Every WDI value the World Bank KPIs are made from, in the shape marts.kpi_lineage unions: the
-- published rates as they are, employment from its two inputs, jobs created from the two inputs of
-- the year and of the year before. Input rows of every year are listed; kpi_lineage keeps those of
-- published cells.
with latest as (

    select * from {{ ref('int_worldbank__latest_indicator_values') }}

),

labour_market as (

    select country_iso3, year from {{ ref('int_worldbank__labour_market') }}
    where jobs_created is not null

),

published_rates as (

    select
        latest.*,
        case indicator_id
            when 'SE.PRM.CMPT.ZS' then 'primary_completion_rate'
            when 'SE.SEC.CMPT.LO.ZS' then 'lower_secondary_completion_rate'
            when 'VC.IHR.PSRC.P5' then 'homicide_rate'
            when 'BX.TRF.PWKR.CD.DT' then 'remittances_usd'
            when 'BX.TRF.PWKR.DT.GD.ZS' then 'remittances_pct_gdp'
        end as kpi_id,
        year as cell_year,
        'value' as role,
        'int_worldbank__kpi_values: the published ' || indicator_id || ' value, as it is' as step
    from latest
    where indicator_id in ('SE.PRM.CMPT.ZS', 'SE.SEC.CMPT.LO.ZS', 'VC.IHR.PSRC.P5', 'BX.TRF.PWKR.CD.DT', 'BX.TRF.PWKR.DT.GD.ZS')

),

employment_inputs as (

    select
        latest.*,
        'employment' as kpi_id,
        year as cell_year,
        case indicator_id when 'SL.TLF.TOTL.IN' then 'factor' else 'percent_deducted' end as role,
        'int_worldbank__labour_market: employment = round(SL.TLF.TOTL.IN x (1 - SL.UEM.TOTL.ZS / 100))' as step
    from latest
    where indicator_id in ('SL.TLF.TOTL.IN', 'SL.UEM.TOTL.ZS')

),

-- jobs created in a year = employment of that year (minuend) - employment of the year before
-- (subtrahend), each from its own labour force and unemployment rate
jobs_created_inputs as (

    select
        latest.*,
        'jobs_created' as kpi_id,
        labour_market.year as cell_year,
        case when latest.year = labour_market.year then 'minuend.' else 'subtrahend.' end
        || case latest.indicator_id when 'SL.TLF.TOTL.IN' then 'factor' else 'percent_deducted' end as role,
        'int_worldbank__labour_market: jobs created = employment - employment of the year before, '
        || 'employment = round(SL.TLF.TOTL.IN x (1 - SL.UEM.TOTL.ZS / 100))' as step
    from labour_market
    inner join latest
        on labour_market.country_iso3 = latest.country_iso3
        and latest.year in (labour_market.year, labour_market.year - 1)
        and latest.indicator_id in ('SL.TLF.TOTL.IN', 'SL.UEM.TOTL.ZS')

),

unioned as (

    select * from published_rates
    union all
    select * from employment_inputs
    union all
    select * from jobs_created_inputs

)

select
    {{ kpi_lineage_columns(
        country_iso3='country_iso3',
        kpi_id='kpi_id',
        year='cell_year',
        source_id="'worldbank_wdi'",
        source_vintage='vintage',
        original_value='value',
        series_id='indicator_id',
        original_year='year',
        role='role',
        step='step'
    ) }}
from unioned
