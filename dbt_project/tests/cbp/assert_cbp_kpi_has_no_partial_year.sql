-- border_encounters must come only from complete fiscal years: any KPI row whose year the OHSS
-- release flags as partial (fewer than 12 months) is an error.
select kpi.country_iso3, kpi.year
from {{ ref('int_cbp__kpi_values') }} as kpi
inner join {{ ref('int_cbp__ohss_latest_annual_encounters') }} as annual
    on kpi.country_iso3 = annual.citizenship_code
    and kpi.year = annual.fiscal_year
    and annual.region = 'Southwest Land Border'
where annual.is_partial_year or annual.months_reported < 12
