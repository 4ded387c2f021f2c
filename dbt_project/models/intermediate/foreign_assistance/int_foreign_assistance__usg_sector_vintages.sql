-- Every API release's sector rows, each flagged whether its release is the newest one (by its
-- release date, the vintage) holding that country x fiscal year x transaction type (the newest
-- release wins in the marts).
select
    country_iso3,
    fiscal_year,
    usg_category_id,
    usg_category_name,
    usg_sector_id,
    usg_sector_name,
    transaction_type_id,
    transaction_type_name,
    current_amount,
    is_partial_year,
    vintage,
    {{ is_newest_vintage(['country_iso3', 'fiscal_year', 'transaction_type_id'], 'cast(vintage as date)', vintage='vintage') }}
        as is_latest_vintage,
    fetch_id
from {{ ref('stg_foreign_assistance__usg_sector_amounts') }}
