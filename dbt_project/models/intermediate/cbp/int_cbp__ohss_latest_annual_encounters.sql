-- Each citizenship's figures from the release loaded last: every OHSS release restates the whole
-- history, so a revision replaces the series rather than mixing releases year by year.
with annual as (

    select * from {{ ref('stg_cbp__ohss_annual_encounters') }}

),

latest_load as (

    select citizenship_code, max(loaded_at) as loaded_at
    from annual
    group by citizenship_code

)

select annual.*
from annual
inner join latest_load
    on annual.citizenship_code = latest_load.citizenship_code
    and annual.loaded_at = latest_load.loaded_at
