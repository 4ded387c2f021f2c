-- US assistance obligations and disbursements (current US$) at two levels, every release kept (the
-- shape fct_us_assistance had in version 0.1.0; fct_us_assistance is now one summable grain):
--   aggregation_level 'country_total': the Country Summary (all five countries), sector_category and
--     sector 'All sectors';
--   aggregation_level 'usg_sector': the API by US Government sector (HND and GTM).
-- Sum one level only, and filter is_latest_vintage to read the figures the marts use.
with country_totals as (
    select
        country_iso3,
        fiscal_year,
        transaction_type_name as transaction_type,
        'country_total' as aggregation_level,
        'All sectors' as sector_category,
        cast(null as integer) as usg_sector_id,
        'All sectors' as sector,
        current_amount,
        vintage,
        is_latest_vintage,
        is_partial_year,
        'country_summary' as source_dataset
    from {{ ref('int_foreign_assistance__country_summary_vintages') }}
    where transaction_type_id in (2, 3)
        and {{ published_years('fiscal_year') }}
),

sector_rows as (
    select
        country_iso3,
        fiscal_year,
        transaction_type_name as transaction_type,
        'usg_sector' as aggregation_level,
        usg_category_name as sector_category,
        usg_sector_id,
        usg_sector_name as sector,
        current_amount,
        vintage,
        is_latest_vintage,
        is_partial_year,
        'api_by_usg_sector' as source_dataset
    from {{ ref('int_foreign_assistance__usg_sector_vintages') }}
    where {{ published_years('fiscal_year') }}
),

unioned as (
    select * from country_totals
    union all
    select * from sector_rows
)

select
    cast(country_iso3 as varchar) as country_iso3,
    cast(fiscal_year as integer) as fiscal_year,
    cast(transaction_type as varchar) as transaction_type,
    cast(aggregation_level as varchar) as aggregation_level,
    cast(sector_category as varchar) as sector_category,
    cast(usg_sector_id as integer) as usg_sector_id,
    cast(sector as varchar) as sector,
    cast(current_amount as bigint) as current_amount,
    cast(vintage as date) as vintage,
    cast(vintage as date) as vintage_date,
    cast(is_latest_vintage as boolean) as is_latest_vintage,
    cast(is_partial_year as boolean) as is_partial_year,
    cast(source_dataset as varchar) as source_dataset
from unioned
