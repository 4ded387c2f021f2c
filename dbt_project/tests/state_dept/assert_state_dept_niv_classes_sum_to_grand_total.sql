-- Per nationality and fiscal year, the NIV classes sum to the published Grand Total.
select
    country_iso3,
    fiscal_year,
    nationality,
    max(nationality_grand_total) as published_grand_total,
    sum(issuances) as classes_sum
from {{ ref('stg_state_dept__niv_issuances') }}
group by country_iso3, fiscal_year, nationality
having sum(issuances) <> max(nationality_grand_total)
    or min(nationality_grand_total) <> max(nationality_grand_total)
