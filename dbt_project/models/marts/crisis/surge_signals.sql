-- Early warning of migration surges: every monthly series of the warehouse, each month against the
-- level expected from the same calendar month in earlier years (the season) scaled by how the last
-- few months ran against their own seasonal level (the trend). Method and thresholds per series in
-- the seed surge_signal_parameters; docs/surge-signals.md explains them and back-tests them.
-- Built from the intermediate models (not the marts) and plain SQL: the same on DuckDB and PostgreSQL.
with parameters as (

    select * from {{ ref('surge_signal_parameters') }}

),

countries as (

    select country_iso3 from {{ ref('countries') }}

),

-- the current values: each series from the release the intermediate models chose

ohss_current as (

    select
        'usbp_encounters_southwest_border' as series_id,
        citizenship_code as country_iso3,
        calendar_year,
        calendar_month,
        sum(encounters) as value,
        source_id,
        source_vintage
    from {{ ref('int_cbp__monthly_encounters') }}
    where source_id = 'dhs_ohss_encounters' and region = 'Southwest Land Border'
    group by citizenship_code, calendar_year, calendar_month, source_id, source_vintage

),

cbp_current as (

    -- every component (Border Patrol and OFO), demographic, title and encounter type
    select
        'cbp_encounters_southwest_border' as series_id,
        citizenship_code as country_iso3,
        calendar_year,
        calendar_month,
        sum(encounters) as value,
        source_id,
        source_vintage
    from {{ ref('int_cbp__monthly_encounters') }}
    where source_id = 'cbp_sbo_encounters'
    group by citizenship_code, calendar_year, calendar_month, source_id, source_vintage

),

enforcement_current as (

    select
        monthly.measure as series_id,
        monthly.country_iso3,
        monthly.calendar_year,
        monthly.calendar_month,
        monthly.persons as value,
        'dhs_ohss_enforcement' as source_id,
        monthly.vintage as source_vintage,
        annual.data_current_as_of
    from {{ ref('int_dhs_enforcement__latest_monthly') }} as monthly
    left join {{ ref('int_dhs_enforcement__latest_annual') }} as annual
        on monthly.country_iso3 = annual.country_iso3
        and monthly.measure = annual.measure
        and monthly.fiscal_year = annual.fiscal_year

),

current_values as (

    select
        series_id, country_iso3, calendar_year, calendar_month, value, source_id, source_vintage,
        cast(null as date) as data_current_as_of
    from ohss_current
    union all
    select
        series_id, country_iso3, calendar_year, calendar_month, value, source_id, source_vintage,
        cast(null as date) as data_current_as_of
    from cbp_current
    union all
    select
        series_id, country_iso3, calendar_year, calendar_month, value, source_id, source_vintage,
        data_current_as_of
    from enforcement_current

),

-- every release's value of each month, to mark the months a newer release revised

release_values as (

    select
        'usbp_encounters_southwest_border' as series_id,
        citizenship_code as country_iso3,
        calendar_year * 12 + calendar_month - 1 as month_index,
        vintage,
        sum(encounters) as value
    from {{ ref('stg_cbp__ohss_monthly_encounters') }}
    where region = 'Southwest Land Border'
    group by citizenship_code, calendar_year, calendar_month, vintage
    union all
    select
        'cbp_encounters_southwest_border' as series_id,
        citizenship_code as country_iso3,
        calendar_year * 12 + calendar_month - 1 as month_index,
        vintage,
        sum(encounters) as value
    from {{ ref('stg_cbp__sbo_monthly_encounters') }}
    group by citizenship_code, calendar_year, calendar_month, vintage
    union all
    select
        measure as series_id,
        country_iso3,
        calendar_year * 12 + calendar_month - 1 as month_index,
        vintage,
        persons as value
    from {{ ref('stg_dhs_enforcement__monthly_counts') }}

),

release_coverage as (

    -- a release's age is the last month it covers, then its name (the order of vintages.sql's newest_vintage_rows)
    select series_id, vintage, max(month_index) as last_month_index
    from release_values
    group by series_id, vintage

),

monthly as (

    select
        current_values.series_id,
        current_values.country_iso3,
        current_values.calendar_year,
        current_values.calendar_month,
        current_values.calendar_year * 12 + current_values.calendar_month - 1 as month_index,
        cast(current_values.value as double precision) as value,
        current_values.source_id,
        current_values.source_vintage,
        coverage.last_month_index as release_last_month_index,
        -- the last complete month of the release: the month before the one after its as-of date
        cast(extract(year from current_values.data_current_as_of + interval '1 day') as integer) * 12
            + cast(extract(month from current_values.data_current_as_of + interval '1 day') as integer) - 2
            as last_complete_month_index
    from current_values
    inner join countries
        on current_values.country_iso3 = countries.country_iso3
    inner join parameters
        on current_values.series_id = parameters.series_id
    left join release_coverage as coverage
        on current_values.series_id = coverage.series_id
        and current_values.source_vintage = coverage.vintage

),

earlier_releases as (

    select
        monthly.series_id,
        monthly.country_iso3,
        monthly.month_index,
        earlier.vintage as previous_release_vintage,
        earlier.value as previous_release_value,
        row_number() over (
            partition by monthly.series_id, monthly.country_iso3, monthly.month_index
            order by earlier_coverage.last_month_index desc, earlier.vintage desc
        ) as release_rank
    from monthly
    inner join release_values as earlier
        on monthly.series_id = earlier.series_id
        and monthly.country_iso3 = earlier.country_iso3
        and monthly.month_index = earlier.month_index
        and monthly.source_vintage <> earlier.vintage
    inner join release_coverage as earlier_coverage
        on earlier.series_id = earlier_coverage.series_id
        and earlier.vintage = earlier_coverage.vintage
    where earlier_coverage.last_month_index < monthly.release_last_month_index
        or (earlier_coverage.last_month_index = monthly.release_last_month_index and earlier.vintage < monthly.source_vintage)

),

-- the season: the median of the same calendar month over the previous baseline_years years

seasonal as (

    select
        monthly.series_id,
        monthly.country_iso3,
        monthly.month_index,
        percentile_cont(0.5) within group (order by same_month.value) as seasonal_median,
        count(same_month.value) as baseline_years_used
    from monthly
    inner join parameters
        on monthly.series_id = parameters.series_id
    left join monthly as same_month
        on monthly.series_id = same_month.series_id
        and monthly.country_iso3 = same_month.country_iso3
        and (monthly.month_index - same_month.month_index) % 12 = 0
        and monthly.month_index - same_month.month_index between 12 and 12 * parameters.baseline_years
    group by monthly.series_id, monthly.country_iso3, monthly.month_index

),

seasonal_values as (

    select
        monthly.*,
        case when seasonal.baseline_years_used >= parameters.min_baseline_years then seasonal.seasonal_median end
            as seasonal_median,
        seasonal.baseline_years_used
    from monthly
    inner join seasonal
        on monthly.series_id = seasonal.series_id
        and monthly.country_iso3 = seasonal.country_iso3
        and monthly.month_index = seasonal.month_index
    inner join parameters
        on monthly.series_id = parameters.series_id

),

-- the trend: how the previous trend_months months ran against their own seasonal medians

trend as (

    select
        current_month.series_id,
        current_month.country_iso3,
        current_month.month_index,
        cast(sum(recent.value) + max(parameters.damping) as double precision)
            / cast(sum(recent.seasonal_median) + max(parameters.damping) as double precision) as trend_factor,
        count(*) as trend_months_used
    from seasonal_values as current_month
    inner join parameters
        on current_month.series_id = parameters.series_id
    inner join seasonal_values as recent
        on current_month.series_id = recent.series_id
        and current_month.country_iso3 = recent.country_iso3
        and current_month.month_index - recent.month_index between 1 and parameters.trend_months
    where recent.seasonal_median is not null
    group by current_month.series_id, current_month.country_iso3, current_month.month_index

),

expected as (

    select
        seasonal_values.*,
        trend.trend_factor,
        case when trend.trend_months_used = parameters.trend_months
            then seasonal_values.seasonal_median * trend.trend_factor end as expected_value,
        parameters.damping
    from seasonal_values
    inner join parameters
        on seasonal_values.series_id = parameters.series_id
    left join trend
        on seasonal_values.series_id = trend.series_id
        and seasonal_values.country_iso3 = trend.country_iso3
        and seasonal_values.month_index = trend.month_index

),

residuals as (

    -- log of the damped ratio: symmetric for rises and falls, and small counts move it little
    select
        expected.*,
        ln((expected.value + expected.damping) / (expected.expected_value + expected.damping)) as log_departure
    from expected

),

spread as (

    -- how far months usually depart from their expected level: 1.4826 x the median absolute
    -- departure of the previous spread_months months (a standard deviation that one wild month
    -- does not inflate)
    select
        current_month.series_id,
        current_month.country_iso3,
        current_month.month_index,
        1.4826 * percentile_cont(0.5) within group (order by abs(earlier.log_departure)) as typical_departure,
        count(*) as spread_months_used
    from residuals as current_month
    inner join parameters
        on current_month.series_id = parameters.series_id
    inner join residuals as earlier
        on current_month.series_id = earlier.series_id
        and current_month.country_iso3 = earlier.country_iso3
        and current_month.month_index - earlier.month_index between 1 and parameters.spread_months
    where earlier.log_departure is not null
    group by current_month.series_id, current_month.country_iso3, current_month.month_index

),

scored as (

    select
        residuals.*,
        case when spread.spread_months_used >= parameters.min_months_for_spread
            then residuals.log_departure / greatest(spread.typical_departure, parameters.min_spread) end as score,
        parameters.series_name,
        parameters.elevated_score,
        parameters.surge_score,
        parameters.elevated_ratio,
        parameters.surge_ratio,
        parameters.min_flag_value,
        parameters.alert_window_months
    from residuals
    inner join parameters
        on residuals.series_id = parameters.series_id
    left join spread
        on residuals.series_id = spread.series_id
        and residuals.country_iso3 = spread.country_iso3
        and residuals.month_index = spread.month_index

),

levelled as (

    select
        scored.*,
        cast(scored.value as double precision) / cast(nullif(scored.expected_value, 0) as double precision) as ratio,
        case
            when scored.score is null then null
            when scored.score >= scored.surge_score
                and scored.value >= scored.surge_ratio * scored.expected_value
                and scored.value >= scored.min_flag_value then 'surge'
            when scored.score >= scored.elevated_score
                and scored.value >= scored.elevated_ratio * scored.expected_value
                and scored.value >= scored.min_flag_value then 'elevated'
            else 'normal'
        end as level
    from scored

)

select
    cast(levelled.country_iso3 as varchar) as country_iso3,
    cast(levelled.series_id as varchar) as series_id,
    cast(levelled.series_name as varchar) as series,
    cast(make_date(levelled.calendar_year, levelled.calendar_month, 1) as date) as month_start_date,
    cast(levelled.value as bigint) as value,
    cast(levelled.expected_value as double precision) as expected_value,
    cast(levelled.ratio as double precision) as ratio,
    cast(levelled.score as double precision) as score,
    cast(levelled.level as varchar) as level,
    cast(levelled.seasonal_median as double precision) as seasonal_median,
    cast(levelled.trend_factor as double precision) as trend_factor,
    cast(levelled.baseline_years_used as integer) as baseline_years_used,
    cast(
        max(levelled.month_index) over (partition by levelled.series_id, levelled.country_iso3) - levelled.month_index
        < levelled.alert_window_months
        as boolean) as is_in_alert_window,
    cast(coalesce(levelled.month_index > levelled.last_complete_month_index, false) as boolean) as is_partial_month,
    cast(coalesce(earlier_releases.previous_release_value <> levelled.value, false) as boolean) as is_revised,
    cast(earlier_releases.previous_release_value as bigint) as previous_release_value,
    cast(earlier_releases.previous_release_vintage as varchar) as previous_release_vintage,
    cast(levelled.source_id as varchar) as source_id,
    cast(levelled.source_vintage as varchar) as source_vintage
from levelled
left join earlier_releases
    on levelled.series_id = earlier_releases.series_id
    and levelled.country_iso3 = earlier_releases.country_iso3
    and levelled.month_index = earlier_releases.month_index
    and earlier_releases.release_rank = 1
