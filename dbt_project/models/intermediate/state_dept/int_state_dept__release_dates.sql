-- The date of each State Department release (vintage): the last day of the last fiscal year it
-- covers (30 September). The labels ("NIV Detail Table FY1997-FY2024", "Report of the Visa Office
-- FY2023 Table III") name years, not dates.
with covered_years as (

    select source_vintage, fiscal_year from {{ ref('stg_state_dept__niv_issuances') }}
    union all
    select source_vintage, fiscal_year from {{ ref('stg_state_dept__iv_issuances') }}

)

select
    cast(source_vintage as varchar) as source_vintage,
    make_date(max(fiscal_year), 9, 30) as vintage_date
from covered_years
group by source_vintage
