select
    cast(country_iso3 as varchar) as country_iso3,
    cast(country_iso2 as varchar) as country_iso2,
    cast(country_name as varchar) as country_name,
    cast(region as varchar) as region,
    cast(is_focus_country as boolean) as is_focus_country,
    cast(is_default_comparator as boolean) as is_default_comparator
from {{ ref('countries') }}
