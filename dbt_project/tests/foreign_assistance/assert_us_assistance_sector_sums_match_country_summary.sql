-- Fails on any cell where the USG-sector rows do not sum to the latest Country Summary within $10
-- (complete fiscal years of both, HND and GTM), unless the difference is a revision between releases
-- declared in seeds/foreign_assistance/known_revisions.csv; also fails on a declared revision that is
-- no longer observed or has another amount. Declared revisions are reported by
-- warn_us_assistance_revisions_between_releases.
select
    country_iso3,
    fiscal_year,
    transaction_type_name,
    sector_sum,
    country_summary_amount,
    difference,
    declared_revision_usd,
    revision_name,
    reconciliation_status
from {{ ref('int_foreign_assistance__sector_sum_reconciliation') }}
where reconciliation_status not in ('match', 'revision between releases')
