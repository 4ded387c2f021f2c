-- DEPRECATED in 0.3.0, removed in 0.4.0: marts.fct_education as 0.1.0 published it (names and shape; its
-- SQL, over today's models), so queries written for 0.1.0 keep working for one version after 0.2.0
-- changed it. Use marts.fct_education.
with completion as (

    select
        country_iso3,
        case indicator_id
            when 'SE.PRM.CMPT.ZS' then 'primary'
            else 'lower_secondary'
        end as education_level,
        indicator_id,
        year,
        value as completion_rate_pct,
        vintage
    from {{ ref('int_worldbank__latest_indicator_values') }}
    where indicator_id in ('SE.PRM.CMPT.ZS', 'SE.SEC.CMPT.LO.ZS')

),

with_previous as (

    select
        *,
        lag(year) over (partition by country_iso3, education_level order by year) as previous_year,
        lag(completion_rate_pct) over (partition by country_iso3, education_level order by year) as previous_rate
    from completion

)

select
    cast(country_iso3 as varchar) as country_iso3,
    cast(education_level as varchar) as education_level,
    cast(indicator_id as varchar) as indicator_id,
    cast(year as integer) as year,
    cast(completion_rate_pct as double precision) as completion_rate_pct,
    cast(previous_year as integer) as previous_year_with_data,
    cast(completion_rate_pct - previous_rate as double precision) as change_pp_since_previous,
    cast(vintage as date) as source_vintage
from with_previous
where {{ published_years('year') }}
