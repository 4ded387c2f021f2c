{{ config(materialized='incremental', incremental_strategy='replace_range', range_column='fiscal_year',
          on_schema_change='fail', tags=['incremental']) }}

-- Visas issued per country, fiscal year, visa type and normalised class. Classes the seed maps to
-- one normalised class (e.g. a relabelled class) are summed; an unmapped class keeps its published
-- label as visa_class and a NULL pathway_group, which the mart's tests report.
with issuances as (

    select * from {{ ref('int_state_dept__visa_issuances') }}
    where {{ incremental_years('fiscal_year') }}
        and {{ published_years('fiscal_year') }}

)

select
    cast(country_iso3 as varchar) as country_iso3,
    cast(fiscal_year as integer) as fiscal_year,
    cast(visa_type as varchar) as visa_type,
    cast(coalesce(visa_class, visa_class_published) as varchar) as visa_class,
    cast(pathway_group as varchar) as pathway_group,
    cast(sum(issuances) as bigint) as issuances,
    cast(string_agg(visa_class_published, ', ' order by visa_class_published) as varchar) as visa_class_published,
    cast(min(source_vintage) as varchar) as source_vintage
from issuances
group by
    country_iso3,
    fiscal_year,
    visa_type,
    coalesce(visa_class, visa_class_published),
    pathway_group
