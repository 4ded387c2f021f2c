-- The surge mart's change is the month's count minus the same month a year earlier.
select *
from {{ ref('fct_border_encounters_monthly') }}
where encounter_count_year_earlier is not null
  and change_vs_year_earlier_count <> encounter_count - encounter_count_year_earlier
