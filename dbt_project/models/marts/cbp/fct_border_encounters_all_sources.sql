-- Border encounters per citizenship (country or publisher group), month, region or component and
-- demographic, from both publishers: the alternatives to fct_border_encounters (and its shape
-- in version 0.1.0). Never summed as it is: see the YAML for how the two sources relate.
with monthly as (

    select * from {{ ref('int_cbp__monthly_encounters') }}

),

release_coverage as (

    select source_id, source_vintage, max(fiscal_year * 100 + fiscal_month) as last_fiscal_month
    from monthly
    group by source_id, source_vintage

)

select
    cast(monthly.citizenship_code as varchar) as citizenship_code,
    cast(case when monthly.citizenship_code = 'OTHER' then 'group' else 'country' end as varchar) as citizenship_kind,
    cast(monthly.citizenship as varchar) as citizenship,
    cast(monthly.fiscal_year as integer) as fiscal_year,
    cast(monthly.fiscal_month as integer) as fiscal_month,
    cast(monthly.calendar_year as integer) as calendar_year,
    cast(monthly.calendar_month as integer) as calendar_month,
    make_date(monthly.calendar_year, monthly.calendar_month, 1) as month_start_date,
    cast(monthly.region as varchar) as region,
    cast(monthly.component as varchar) as component,
    cast(monthly.demographic as varchar) as demographic,
    cast(monthly.title_of_authority as varchar) as title_of_authority,
    cast(monthly.encounter_type as varchar) as encounter_type,
    cast(monthly.encounters as bigint) as encounter_count,
    cast(monthly.source_id as varchar) as source_id,
    cast(monthly.source_vintage as varchar) as source_vintage,
    cast(monthly.is_partial_year as boolean) as is_partial_year,
    cast(monthly.is_rounded as boolean) as is_rounded,
    {{ fiscal_month_end_date('cast((release_coverage.last_fiscal_month - release_coverage.last_fiscal_month % 100) / 100 as integer)', 'release_coverage.last_fiscal_month % 100') }} as vintage_date
from monthly
inner join release_coverage
    on monthly.source_id = release_coverage.source_id
    and monthly.source_vintage = release_coverage.source_vintage
