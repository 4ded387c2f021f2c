-- removals and credible_fear_referrals: the fiscal-year Total rows of the newest release with the
-- country's column, complete fiscal years only (the partial "YTD" year is never a KPI year).
select
    cast(country_iso3 as varchar) as country_iso3,
    cast(measure as varchar) as kpi_id,
    cast(fiscal_year as integer) as year,
    cast(persons as double precision) as value,
    cast(case measure when 'removals' then 'removals' else 'referrals' end as varchar) as unit,
    cast('dhs_ohss_enforcement' as varchar) as source_id,
    cast('OHSS enforcement tables ' || vintage as varchar) as source_vintage,
    {{ month_end_date('cast(left(vintage, 4) as integer)', 'cast(right(vintage, 2) as integer)') }} as vintage_date
from {{ ref('int_dhs_enforcement__latest_annual') }}
where measure in ('removals', 'credible_fear_referrals')
    and not is_partial_year
