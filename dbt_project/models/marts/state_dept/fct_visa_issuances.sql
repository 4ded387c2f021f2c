{{ config(materialized='incremental', incremental_strategy='replace_range', meta={'range_column': 'fiscal_year'},
          on_schema_change='fail', tags=['incremental']) }}

-- Visas issued per country, fiscal year, visa type and normalised class: a sum of visa_count over
-- a country's fiscal year is visas_issued (NIV + IV). Classes the seed maps to
-- one normalised class (e.g. a relabelled class) are summed; an unmapped class keeps its published
-- label as visa_class and a NULL pathway_group, which the mart's tests report.
with issuances as (

    select * from {{ ref('int_state_dept__visa_issuances') }}
    where {{ incremental_years('fiscal_year') }}
        and {{ published_years('fiscal_year') }}

),

release_dates as (

    select * from {{ ref('int_state_dept__release_dates') }}

)

select
    cast(issuances.country_iso3 as varchar) as country_iso3,
    {{ period_id("'us_fiscal'", 'issuances.fiscal_year') }} as period_id,
    cast(issuances.fiscal_year as integer) as fiscal_year,
    cast(issuances.visa_type as varchar) as visa_type,
    cast(coalesce(issuances.visa_class, issuances.visa_class_published) as varchar) as visa_class,
    cast(issuances.pathway_group as varchar) as pathway_group,
    cast(sum(issuances.issuances) as bigint) as visa_count,
    cast(string_agg(issuances.visa_class_published, ', ' order by issuances.visa_class_published) as varchar) as visa_class_published,
    -- one release per country, year and visa type (the staging models pick it), so one label
    cast(issuances.source_vintage as varchar) as source_vintage,
    cast(release_dates.vintage_date as date) as vintage_date
from issuances
inner join release_dates
    on issuances.source_vintage = release_dates.source_vintage
group by
    issuances.country_iso3,
    issuances.fiscal_year,
    issuances.visa_type,
    coalesce(issuances.visa_class, issuances.visa_class_published),
    issuances.pathway_group,
    issuances.source_vintage,
    release_dates.vintage_date
