-- Every Country Summary release's rows, each flagged whether it is the latest release holding that
-- country x transaction type x fiscal year (by its release date, the vintage): the newest release wins,
-- the earlier ones are kept as revisions.

select
    country_iso3,
    transaction_type_id,
    transaction_type_name,
    fiscal_year,
    current_amount,
    constant_amount,
    constant_dollars_base_year,
    is_partial_year,
    vintage,
    {{ is_newest_vintage(['country_iso3', 'transaction_type_id', 'fiscal_year'], 'cast(vintage as date)', vintage='vintage') }}
        as is_latest_vintage,
    fetch_id,
    source_url,
    source_file,
    file_sha256,
    source_location,
    original_text
from {{ ref('stg_foreign_assistance__country_summary_amounts') }}
