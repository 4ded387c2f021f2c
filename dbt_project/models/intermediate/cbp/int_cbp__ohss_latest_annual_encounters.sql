-- Each citizenship's figures from its newest release (the one covering the latest fiscal month): every OHSS release restates the whole
-- history, so a revision replaces the series rather than mixing releases year by year.
with annual as (

    select * from {{ ref('stg_cbp__ohss_annual_encounters') }}

),

latest_release as (

    {{ latest_release('annual', ref('stg_cbp__ohss_monthly_encounters')) }}

)

select annual.*
from annual
inner join latest_release
    on annual.citizenship_code = latest_release.citizenship_code
    and annual.vintage = latest_release.vintage
