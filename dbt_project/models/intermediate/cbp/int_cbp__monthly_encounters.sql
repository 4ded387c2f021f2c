-- Monthly encounters of both publishers in one shape, each citizenship from the newest release of that
-- source (the newest vintage_date: the one covering the latest fiscal month). OHSS rows are Border Patrol only and not broken down by demographic, title
-- or encounter type ('All'); CBP rows are all at the Southwest land border.
with ohss as (

    select * from {{ ref('stg_cbp__ohss_monthly_encounters') }}

),

ohss_release_dates as (

    {{ release_dates_from_coverage('ohss') }}

),

ohss_latest_release as (

    select distinct citizenship_code, vintage
    from ({{ newest_vintage_rows('ohss', ['citizenship_code'], 'release_dates.vintage_date', vintage_dates='ohss_release_dates') }}) as newest

),

cbp as (

    select * from {{ ref('stg_cbp__sbo_monthly_encounters') }}

),

cbp_release_dates as (

    {{ release_dates_from_coverage('cbp') }}

),

cbp_latest_release as (

    select distinct citizenship_code, vintage
    from ({{ newest_vintage_rows('cbp', ['citizenship_code'], 'release_dates.vintage_date', vintage_dates='cbp_release_dates') }}) as newest

),

ohss_rows as (

    select
        ohss.citizenship_code,
        ohss.citizenship,
        ohss.fiscal_year,
        ohss.fiscal_month,
        ohss.calendar_year,
        ohss.calendar_month,
        ohss.region,
        'U.S. Border Patrol' as component,
        'All' as demographic,
        'All' as title_of_authority,
        'All' as encounter_type,
        ohss.encounters,
        'dhs_ohss_encounters' as source_id,
        ohss.vintage as source_vintage,
        ohss.is_partial_year,
        true as is_rounded
    from ohss
    inner join ohss_latest_release
        on ohss.citizenship_code = ohss_latest_release.citizenship_code
        and ohss.vintage = ohss_latest_release.vintage

),

cbp_rows as (

    select
        cbp.citizenship_code,
        cbp.citizenship,
        cbp.fiscal_year,
        cbp.fiscal_month,
        cbp.calendar_year,
        cbp.calendar_month,
        'Southwest Land Border' as region,
        cbp.component,
        cbp.demographic,
        cbp.title_of_authority,
        cbp.encounter_type,
        cbp.encounters,
        'cbp_sbo_encounters' as source_id,
        cbp.vintage as source_vintage,
        cbp.is_partial_year,
        false as is_rounded
    from cbp
    inner join cbp_latest_release
        on cbp.citizenship_code = cbp_latest_release.citizenship_code
        and cbp.vintage = cbp_latest_release.vintage

)

select * from ohss_rows
union all
select * from cbp_rows
