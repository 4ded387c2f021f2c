-- Each citizenship's figures from its newest release (vintage_date: the last day of the latest fiscal
-- month the release covers): every OHSS release restates the whole history, so a revision replaces the
-- series rather than mixing releases year by year.
with annual as (

    select * from {{ ref('stg_cbp__ohss_annual_encounters') }}

),

release_dates as (

    {{ release_dates_from_coverage(ref('stg_cbp__ohss_monthly_encounters')) }}

)

{{ newest_vintage_rows('annual', ['citizenship_code'], 'release_dates.vintage_date', vintage_dates='release_dates') }}
