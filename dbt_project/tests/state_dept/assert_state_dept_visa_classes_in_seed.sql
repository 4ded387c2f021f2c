-- Every published visa class (NIV label or Table III category) must be in the seed
-- state_dept_visa_classes; a failure lists each missing class by name (add it to the seed).
select
    visa_type,
    visa_class_published,
    min(fiscal_year) as first_fiscal_year,
    max(fiscal_year) as last_fiscal_year,
    count(*) as rows_without_pathway
from {{ ref('int_state_dept__visa_issuances') }}
where pathway_group is null
group by visa_type, visa_class_published
