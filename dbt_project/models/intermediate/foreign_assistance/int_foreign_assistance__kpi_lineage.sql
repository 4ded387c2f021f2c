-- Where each us_assistance_obligations and us_assistance_disbursements value is in its Country
-- Summary CSV: the current_amount field of the release's line, in the release kpi_annual reads.
select
    {{ kpi_lineage_columns(
        country_iso3='country_iso3',
        kpi_id="case transaction_type_id when 2 then 'us_assistance_obligations' when 3 then 'us_assistance_disbursements' end",
        year='fiscal_year',
        source_id="'foreign_assistance_gov'",
        source_vintage="'Country Summary release ' || cast(vintage as varchar)",
        original_value='current_amount',
        series_id='transaction_type_name',
        original_year='fiscal_year',
        role="'value'",
        step="'int_foreign_assistance__kpi_values: the current-dollar amount of the latest Country Summary release, as published'"
    ) }}
from {{ ref('int_foreign_assistance__country_summary_vintages') }}
where is_latest_vintage
    and not is_partial_year
    and transaction_type_id in (2, 3)
