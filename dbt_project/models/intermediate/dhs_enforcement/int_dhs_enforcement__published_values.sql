-- Every release's fiscal-year totals of complete years, in the shape kpi_revisions unions (a
-- partial year grows from release to release by definition: that is not a revision).
select
    cast('dhs_ohss_enforcement' as varchar) as source_id,
    cast(country_iso3 as varchar) as country_iso3,
    cast(measure as varchar) as series_id,
    cast(fiscal_year as integer) as year,
    cast(vintage as varchar) as vintage,
    cast(persons as double precision) as value,
    cast(case when measure in ('removals', 'credible_fear_referrals') then measure end as varchar) as kpi_id,
    {{ month_end_date('cast(left(vintage, 4) as integer)', 'cast(right(vintage, 2) as integer)') }} as vintage_date
from {{ ref('stg_dhs_enforcement__annual_counts') }}
where not is_partial_year
