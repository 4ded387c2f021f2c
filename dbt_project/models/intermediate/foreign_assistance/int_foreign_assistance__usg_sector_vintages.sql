-- Every API release's sector rows, each flagged whether its release is the latest one holding that
-- country x fiscal year x transaction type (the later release wins in the marts).
with latest as (
    select country_iso3, fiscal_year, transaction_type_id, max(vintage) as latest_vintage
    from {{ ref('stg_foreign_assistance__usg_sector_amounts') }}
    group by country_iso3, fiscal_year, transaction_type_id
)

select
    amounts.country_iso3,
    amounts.fiscal_year,
    amounts.usg_category_id,
    amounts.usg_category_name,
    amounts.usg_sector_id,
    amounts.usg_sector_name,
    amounts.transaction_type_id,
    amounts.transaction_type_name,
    amounts.current_amount,
    amounts.is_partial_year,
    amounts.vintage,
    amounts.vintage = latest.latest_vintage as is_latest_vintage,
    amounts.fetch_id
from {{ ref('stg_foreign_assistance__usg_sector_amounts') }} as amounts
inner join latest
    on amounts.country_iso3 = latest.country_iso3
    and amounts.fiscal_year = latest.fiscal_year
    and amounts.transaction_type_id = latest.transaction_type_id
