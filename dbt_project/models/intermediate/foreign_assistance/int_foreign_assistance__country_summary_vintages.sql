-- Every Country Summary release's rows, each flagged whether it is the latest release holding that
-- country x transaction type x fiscal year: the later release wins, the earlier ones are kept as revisions.
with ranked as (
    select
        *,
        row_number() over (
            partition by country_iso3, transaction_type_id, fiscal_year
            order by vintage desc
        ) as release_rank
    from {{ ref('stg_foreign_assistance__country_summary_amounts') }}
)

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
    release_rank = 1 as is_latest_vintage,
    fetch_id,
    source_url,
    source_file,
    file_sha256,
    source_location,
    original_text
from ranked
