-- Every WDI value of every vintage (release) loaded, in the shape kpi_revisions unions; kpi_id is
-- the KPI a series is published as (NULL for the inputs of derived KPIs, e.g. the labour force).
select
    cast('worldbank_wdi' as varchar) as source_id,
    cast(country_iso3 as varchar) as country_iso3,
    cast(indicator_id as varchar) as series_id,
    cast(year as integer) as year,
    cast(vintage as varchar) as vintage,
    cast(value as double precision) as value,
    cast(case indicator_id
        when 'SE.PRM.CMPT.ZS' then 'primary_completion_rate'
        when 'SE.SEC.CMPT.LO.ZS' then 'lower_secondary_completion_rate'
        when 'VC.IHR.PSRC.P5' then 'homicide_rate'
        when 'BX.TRF.PWKR.CD.DT' then 'remittances_usd'
        when 'BX.TRF.PWKR.DT.GD.ZS' then 'remittances_pct_gdp'
    end as varchar) as kpi_id,
    cast(vintage as date) as vintage_date
from {{ ref('stg_worldbank__indicator_values') }}
