-- Where each removals and credible_fear_referrals value is in its workbook: the fiscal-year Total
-- row's cell of the country's column, in the release int_dhs_enforcement__kpi_values reads.
select
    {{ kpi_lineage_columns(
        country_iso3='country_iso3',
        kpi_id='measure',
        year='fiscal_year',
        source_id="'dhs_ohss_enforcement'",
        source_vintage="'OHSS enforcement tables ' || vintage",
        original_value='persons',
        series_id='measure',
        original_year='fiscal_year',
        role="'value'",
        step="'int_dhs_enforcement__latest_annual: the fiscal-year Total row of the newest release with the country''s column'"
    ) }}
from {{ ref('int_dhs_enforcement__latest_annual') }}
where measure in ('removals', 'credible_fear_referrals')
    and not is_partial_year
