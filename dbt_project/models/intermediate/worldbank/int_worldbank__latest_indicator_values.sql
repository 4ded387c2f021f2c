-- Each series (country x indicator) from its newest vintage only: a revision replaces the whole
-- series, so a year the newest release no longer carries is not filled from an older one.
with indicator_values as (

    select * from {{ ref('stg_worldbank__indicator_values') }}

),

newest_vintage as (

    select country_iso3, indicator_id, max(vintage) as vintage
    from indicator_values
    group by country_iso3, indicator_id

)

select indicator_values.*
from indicator_values
inner join newest_vintage
    on indicator_values.country_iso3 = newest_vintage.country_iso3
    and indicator_values.indicator_id = newest_vintage.indicator_id
    and indicator_values.vintage = newest_vintage.vintage
