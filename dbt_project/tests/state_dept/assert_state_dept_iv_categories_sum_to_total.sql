-- Per foreign state and fiscal year, the Table III categories sum to the published total.
select
    country_iso3,
    fiscal_year,
    total,
    immediate_relatives + special_immigrants + family_preference + employment_preference
        + coalesce(schedule_a_workers, 0) + diversity_immigrants as categories_sum
from {{ ref('stg_state_dept__iv_issuances') }}
where immediate_relatives + special_immigrants + family_preference + employment_preference
    + coalesce(schedule_a_workers, 0) + diversity_immigrants <> total
