{{ config(severity='warn', store_failures=true) }}
-- Reports (as a warning, never a failure) each cell where the sector data and the Country Summary
-- differ by a declared revision between releases, by its name (e.g. "HND FY2024 disbursements revised
-- after the November 2025 Country Summary", +23,770 US$).
select
    revision_name,
    country_iso3,
    fiscal_year,
    transaction_type_name,
    sector_sum,
    country_summary_amount,
    difference,
    sector_vintage,
    country_summary_vintage
from {{ ref('int_foreign_assistance__sector_sum_reconciliation') }}
where reconciliation_status = 'revision between releases'
