-- Where each UNHCR stock by origin comes from, in the shape marts.kpi_lineage unions: refugees and
-- asylum-seekers are the sums of the origin's rows over every country of asylum (each row a
-- summand, as int_unhcr__origin_stocks adds them: rows UNHCR publishes no count for stay out); IDPs
-- are the count of the row whose asylum country is the origin. Rows of the newest vintage only, as
-- int_unhcr__latest_origin_stocks reads. IDMC's IDPs and asylum applications in the USA are not
-- covered yet.
with population as (

    select * from {{ ref('stg_unhcr__population') }}

),

latest as (

    {{ newest_vintage_rows('population', ['origin_iso3'], 'cast(vintage as date)') }}

),

unioned as (

    select latest.*, 'refugees_by_origin' as kpi_id, 'refugees' as field, refugees as original_value, 'summand' as role,
        'int_unhcr__origin_stocks: refugees summed over every country of asylum' as step
    from latest
    where refugees is not null
    union all
    select latest.*, 'asylum_seekers_by_origin' as kpi_id, 'asylum_seekers' as field, asylum_seekers as original_value,
        'summand' as role, 'int_unhcr__origin_stocks: asylum-seekers summed over every country of asylum' as step
    from latest
    where asylum_seekers is not null
    union all
    select latest.*, 'idps' as kpi_id, 'idps' as field, idps as original_value, 'value' as role,
        'int_unhcr__origin_stocks: IDPs of the row whose country of asylum is the origin' as step
    from latest
    where asylum_iso3 = origin_iso3
        and idps is not null

)

select
    cast(origin_iso3 as varchar) as country_iso3,
    cast(kpi_id as varchar) as kpi_id,
    cast(year as integer) as year,
    cast('unhcr_population' as varchar) as source_id,
    cast('UNHCR ' || vintage as varchar) as source_vintage,
    cast(fetch_id as varchar) as fetch_id,
    cast(file_sha256 as varchar) as file_sha256,
    cast(source_file as varchar) as file_path,
    cast(source_url as varchar) as source_url,
    -- the item's pointer and the count's field: pointer=/items/<n>/refugees
    cast(source_location || '/' || field as varchar) as location,
    -- a JSON count is printed as its digits
    cast(cast(original_value as bigint) as varchar) as original_text,
    cast(original_value as double precision) as original_value,
    cast(field as varchar) as series_id,
    cast(year as integer) as original_year,
    cast(role as varchar) as role,
    cast(step as varchar) as step
from unioned
