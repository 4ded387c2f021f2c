-- border_encounters: U.S. Border Patrol encounters at the Southwest land border of each country's
-- citizens per complete fiscal year, as the OHSS workbook's annual sheet publishes them (rounded
-- to 10). One definition for every year since FY2000; fiscal-year-to-date figures are left out.
-- The CBP CSV (which adds Office of Field Operations encounters from FY2022) never feeds this KPI.
-- A release's vintage_date is the last day of the last fiscal month it covers (its label, e.g.
-- KHSM_Encounters_USBP_fy25m11, is a file name).
with annual as (

    select * from {{ ref('int_cbp__ohss_latest_annual_encounters') }}

),

release_coverage as (

    select vintage, max(fiscal_year * 100 + fiscal_month) as last_fiscal_month
    from {{ ref('stg_cbp__ohss_monthly_encounters') }}
    group by vintage

)

select
    cast(annual.citizenship_code as varchar) as country_iso3,
    cast('border_encounters' as varchar) as kpi_id,
    cast(annual.fiscal_year as integer) as year,
    cast(annual.encounters as double precision) as value,
    cast('encounters' as varchar) as unit,
    cast('dhs_ohss_encounters' as varchar) as source_id,
    cast(annual.vintage as varchar) as source_vintage,
    {{ fiscal_month_end_date('cast((release_coverage.last_fiscal_month - release_coverage.last_fiscal_month % 100) / 100 as integer)', 'release_coverage.last_fiscal_month % 100') }} as vintage_date
from annual
inner join release_coverage
    on annual.vintage = release_coverage.vintage
where annual.region = 'Southwest Land Border'
    and not annual.is_partial_year
