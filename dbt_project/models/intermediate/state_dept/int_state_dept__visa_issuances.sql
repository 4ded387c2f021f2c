-- Every published NIV class value and every Table III category value, one row each, with the
-- normalised class and pathway group from the user-editable seed. A class the seed lacks keeps its
-- row with NULL visa_class and pathway_group (left join): the dbt tests name it, nothing is dropped.
with niv as (

    select
        country_iso3,
        fiscal_year,
        'NIV' as visa_type,
        visa_class_published,
        issuances,
        source_vintage
    from {{ ref('stg_state_dept__niv_issuances') }}

),

iv as (

    select * from {{ ref('stg_state_dept__iv_issuances') }}

),

-- Table III categories as rows; the category's raw column name is its published class key in the seed
iv_categories as (

    select country_iso3, fiscal_year, 'IV' as visa_type, 'immediate_relatives' as visa_class_published,
           immediate_relatives as issuances, source_vintage from iv
    union all
    select country_iso3, fiscal_year, 'IV', 'special_immigrants', special_immigrants, source_vintage from iv
    union all
    select country_iso3, fiscal_year, 'IV', 'family_preference', family_preference, source_vintage from iv
    union all
    select country_iso3, fiscal_year, 'IV', 'employment_preference', employment_preference, source_vintage from iv
    union all
    select country_iso3, fiscal_year, 'IV', 'schedule_a_workers', schedule_a_workers, source_vintage from iv
    where schedule_a_workers is not null
    union all
    select country_iso3, fiscal_year, 'IV', 'diversity_immigrants', diversity_immigrants, source_vintage from iv

),

published as (

    select * from niv
    union all
    select * from iv_categories

),

visa_classes as (

    select * from {{ ref('state_dept_visa_classes') }}

)

select
    published.country_iso3,
    published.fiscal_year,
    published.visa_type,
    published.visa_class_published,
    visa_classes.visa_class,
    visa_classes.pathway_group,
    published.issuances,
    published.source_vintage
from published
left join visa_classes
    on published.visa_type = visa_classes.visa_type
    and published.visa_class_published = visa_classes.visa_class_published
