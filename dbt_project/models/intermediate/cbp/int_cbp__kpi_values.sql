-- border_encounters: U.S. Border Patrol encounters at the Southwest land border of each country's
-- citizens per complete fiscal year, as the OHSS workbook's annual sheet publishes them (rounded
-- to 10). One definition for every year since FY2000; fiscal-year-to-date figures are left out.
-- The CBP CSV (which adds Office of Field Operations encounters from FY2022) never feeds this KPI.
with annual as (

    select * from {{ ref('int_cbp__ohss_latest_annual_encounters') }}

)

select
    cast(citizenship_code as varchar) as country_iso3,
    cast('border_encounters' as varchar) as kpi_id,
    cast(fiscal_year as integer) as year,
    cast(encounters as double precision) as value,
    cast('encounters' as varchar) as unit,
    cast('dhs_ohss_encounters' as varchar) as source_id,
    cast(vintage as varchar) as source_vintage
from annual
where region = 'Southwest Land Border'
    and not is_partial_year
