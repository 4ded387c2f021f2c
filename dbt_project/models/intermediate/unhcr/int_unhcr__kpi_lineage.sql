-- Where each UNHCR KPI value comes from, in the shape marts.kpi_lineage unions (the item's pointer
-- and the count's field, pointer=/items/<n>/<field>):
--   refugees and asylum-seekers: the origin's rows over every country of asylum, each a summand
--     (as int_unhcr__origin_stocks adds them; rows UNHCR publishes no count for stay out);
--   idps: the count of the row whose asylum country is the origin;
--   idps_idmc: IDMC's total of the origin's row, from its own newest vintage;
--   asylum_applications_usa: every new application (USCIS and the immigration courts), a summand
--     (as int_unhcr__asylum_usa and int_unhcr__kpi_values add them; kpi_lineage keeps the cells
--     kpi_annual publishes, i.e. the years where both report in persons).
-- Rows of the newest vintage only, as the KPI models read.
with population as (

    select * from {{ ref('stg_unhcr__population') }}

),

idmc as (

    select * from {{ ref('stg_unhcr__idmc_idps') }}

),

applications as (

    select * from {{ ref('stg_unhcr__asylum_applications') }}

),

latest as (

    {{ newest_vintage_rows('population', ['origin_iso3'], 'cast(vintage as date)') }}

),

asylum_vintages as (

    select origin_iso3, vintage from applications
    union all
    select origin_iso3, vintage from {{ ref('stg_unhcr__asylum_decisions') }}

),

latest_idmc as (

    {{ newest_vintage_rows('idmc', ['country_iso3'], 'cast(vintage as date)') }}

),

-- int_unhcr__asylum_usa's newest vintage: over applications and decisions together, decided as it decides
newest_asylum as (

    select distinct origin_iso3, vintage
    from ({{ newest_vintage_rows('asylum_vintages', ['origin_iso3'], 'cast(vintage as date)') }}) as newest_vintages

),

latest_new_applications as (

    select applications.*
    from applications
    inner join newest_asylum
        on applications.origin_iso3 = newest_asylum.origin_iso3
        and applications.vintage = newest_asylum.vintage
    where applications.authority_level in ('IN', 'EO')
        and applications.application_type = 'N'
        and applications.applied is not null

),

unioned as (

    select origin_iso3, year, vintage, fetch_id, source_file, file_sha256, source_url, source_location,
        'refugees_by_origin' as kpi_id, 'refugees' as field, refugees as original_value, 'summand' as role,
        'int_unhcr__origin_stocks: refugees summed over every country of asylum' as step
    from latest
    where refugees is not null
    union all
    select origin_iso3, year, vintage, fetch_id, source_file, file_sha256, source_url, source_location,
        'asylum_seekers_by_origin' as kpi_id, 'asylum_seekers' as field, asylum_seekers as original_value,
        'summand' as role, 'int_unhcr__origin_stocks: asylum-seekers summed over every country of asylum' as step
    from latest
    where asylum_seekers is not null
    union all
    select origin_iso3, year, vintage, fetch_id, source_file, file_sha256, source_url, source_location,
        'idps' as kpi_id, 'idps' as field, idps as original_value, 'value' as role,
        'int_unhcr__origin_stocks: IDPs of the row whose country of asylum is the origin' as step
    from latest
    where asylum_iso3 = origin_iso3
        and idps is not null
    union all
    select country_iso3 as origin_iso3, year, vintage, fetch_id, source_file, file_sha256, source_url, source_location,
        'idps_idmc' as kpi_id, 'total' as field, idps as original_value, 'value' as role,
        'int_unhcr__latest_origin_stocks: IDMC''s IDP estimate of the newest IDMC vintage, as published' as step
    from latest_idmc
    where idps is not null
    union all
    select origin_iso3, year, vintage, fetch_id, source_file, file_sha256, source_url, source_location,
        'asylum_applications_usa' as kpi_id, 'applied' as field, applied as original_value, 'summand' as role,
        'int_unhcr__kpi_values: new asylum applications (application_type N) with USCIS (IN) and the immigration '
        || 'courts (EO), in persons, summed' as step
    from latest_new_applications

)

select
    {{ kpi_lineage_columns(
        country_iso3='origin_iso3',
        kpi_id='kpi_id',
        year='year',
        source_id="'unhcr_population'",
        source_vintage="'UNHCR ' || vintage",
        original_value='original_value',
        series_id='field',
        original_year='year',
        role='role',
        step='step',
        location="source_location || '/' || field",
        original_text='cast(cast(original_value as bigint) as varchar)'
    ) }}
from unioned
