-- Each country's fiscal-year figures per measure from the newest release that has a column for it
-- (releases restate the whole history; a release without the country's column publishes nothing
-- for it, so the newest release that does is its latest word). Vintages are YYYY-MM, dated by the
-- month's last day.
with annual as (

    select * from {{ ref('stg_dhs_enforcement__annual_counts') }}

)

{{ newest_vintage_rows('annual', ['country_iso3', 'measure'],
    month_end_date('cast(left(vintage, 4) as integer)', 'cast(right(vintage, 2) as integer)')) }}
