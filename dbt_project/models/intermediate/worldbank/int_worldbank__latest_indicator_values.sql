-- Each series (country x indicator) from its newest vintage only: a revision replaces the whole
-- series, so a year the newest release no longer carries is not filled from an older one. The
-- vintage is the API's last-updated date.
with indicator_values as (

    select * from {{ ref('stg_worldbank__indicator_values') }}

)

{{ newest_vintage_rows('indicator_values', ['country_iso3', 'indicator_id'], 'cast(vintage as date)') }}
