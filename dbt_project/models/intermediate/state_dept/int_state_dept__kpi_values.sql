-- The visa KPIs in the shape every source gives kpi_annual (fiscal years):
--   visas_nonimmigrant   = the nationality's published NIV Detail Table Grand Total;
--   visas_immigrant      = the published Table III total;
--   visas_issued         = their sum, only for years where both exist;
--   visas_temporary_work = NIV issuances in the seed's pathway group 'temporary_work'
--                          (H-2A + H-2B, and H-2R, the returning H-2B workers of FY2005-FY2007).
with niv_nationality_totals as (

    select distinct
        country_iso3,
        fiscal_year,
        nationality,
        nationality_grand_total,
        source_vintage
    from {{ ref('stg_state_dept__niv_issuances') }}

),

nonimmigrant as (

    select
        country_iso3,
        fiscal_year,
        sum(nationality_grand_total) as value,
        min(source_vintage) as source_vintage
    from niv_nationality_totals
    group by country_iso3, fiscal_year

),

immigrant as (

    select
        country_iso3,
        fiscal_year,
        total as value,
        source_vintage
    from {{ ref('stg_state_dept__iv_issuances') }}

),

temporary_work as (

    select
        country_iso3,
        fiscal_year,
        sum(issuances) as value,
        min(source_vintage) as source_vintage
    from {{ ref('int_state_dept__visa_issuances') }}
    where visa_type = 'NIV'
        and pathway_group = 'temporary_work'
    group by country_iso3, fiscal_year

),

release_dates as (

    select * from {{ ref('int_state_dept__release_dates') }}

),

issued as (

    select
        nonimmigrant.country_iso3,
        nonimmigrant.fiscal_year,
        nonimmigrant.value + immigrant.value as value,
        nonimmigrant.source_vintage || ' + ' || immigrant.source_vintage as source_vintage,
        -- a sum is as new as its newest input
        {{ later_vintage('niv_release.vintage_date', 'iv_release.vintage_date') }} as vintage_date
    from nonimmigrant
    inner join immigrant
        on nonimmigrant.country_iso3 = immigrant.country_iso3
        and nonimmigrant.fiscal_year = immigrant.fiscal_year
    inner join release_dates as niv_release
        on nonimmigrant.source_vintage = niv_release.source_vintage
    inner join release_dates as iv_release
        on immigrant.source_vintage = iv_release.source_vintage

),

unioned as (

    select nonimmigrant.country_iso3, 'visas_nonimmigrant' as kpi_id, nonimmigrant.fiscal_year, nonimmigrant.value,
           nonimmigrant.source_vintage, release_dates.vintage_date
    from nonimmigrant inner join release_dates on nonimmigrant.source_vintage = release_dates.source_vintage
    union all
    select immigrant.country_iso3, 'visas_immigrant' as kpi_id, immigrant.fiscal_year, immigrant.value,
           immigrant.source_vintage, release_dates.vintage_date
    from immigrant inner join release_dates on immigrant.source_vintage = release_dates.source_vintage
    union all
    select country_iso3, 'visas_issued' as kpi_id, fiscal_year, value, source_vintage, vintage_date from issued
    union all
    select temporary_work.country_iso3, 'visas_temporary_work' as kpi_id, temporary_work.fiscal_year, temporary_work.value,
           temporary_work.source_vintage, release_dates.vintage_date
    from temporary_work inner join release_dates on temporary_work.source_vintage = release_dates.source_vintage

)

select
    cast(country_iso3 as varchar) as country_iso3,
    cast(kpi_id as varchar) as kpi_id,
    cast(fiscal_year as integer) as year,
    cast(value as double precision) as value,
    cast('visas' as varchar) as unit,
    cast('state_dept_visas' as varchar) as source_id,
    cast(source_vintage as varchar) as source_vintage,
    cast(vintage_date as date) as vintage_date
from unioned
