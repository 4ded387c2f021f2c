-- Where each border_encounters value is in the OHSS workbook: the annual sheet's Quantity cell of
-- the Southwest Land Border row, in the release int_cbp__kpi_values reads.
select
    {{ kpi_lineage_columns(
        country_iso3='citizenship_code',
        kpi_id="'border_encounters'",
        year='fiscal_year',
        source_id="'dhs_ohss_encounters'",
        source_vintage='vintage',
        original_value='encounters',
        series_id="region || ', ' || citizenship",
        original_year='fiscal_year',
        role="'value'",
        step="'int_cbp__kpi_values: the annual sheet''s Southwest Land Border row of the citizenship''s newest release, as published'"
    ) }}
from {{ ref('int_cbp__ohss_latest_annual_encounters') }}
where region = 'Southwest Land Border'
    and not is_partial_year
