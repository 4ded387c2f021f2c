{#- A fact and kpi_annual say the same: per country and year, `value` (an aggregate over the fact's
    rows that pass `where`) equals the KPI's value in kpi_annual, and neither has a year the other
    lacks. The failing rows name the country, year and both values. A fact rebuilt for some years
    and a kpi_annual rebuilt for all (stale years, mixed releases) fails here, before publishing.
    `absolute_tolerance`: for figures the publisher rounds per row (e.g. to 10 per month); with it, a
    side without rows counts as zero (a small country's year whose every month rounds to nothing has
    no monthly rows while its year rounds to 10). -#}
{% test agrees_with_kpi_annual(model, kpi_id, value, year_column='year', country_column='country_iso3', where='1 = 1',
                               absolute_tolerance=0) %}
with fact as (

    select
        {{ country_column }} as country_iso3,
        {{ year_column }} as year,
        {{ value }} as value
    from {{ model }}
    where {{ where }}
    group by {{ country_column }}, {{ year_column }}

),

kpi as (

    select country_iso3, year, value
    from {{ ref('kpi_annual') }}
    where kpi_id = '{{ kpi_id }}'

)

select
    coalesce(fact.country_iso3, kpi.country_iso3) as country_iso3,
    '{{ kpi_id }}' as kpi_id,
    coalesce(fact.year, kpi.year) as year,
    fact.value as fact_value,
    kpi.value as kpi_annual_value
from fact
full outer join kpi
    on fact.country_iso3 = kpi.country_iso3
    and fact.year = kpi.year
{% if absolute_tolerance > 0 %}
where abs(coalesce(fact.value, 0) - coalesce(kpi.value, 0)) > {{ absolute_tolerance }} + 1e-9 * abs(coalesce(kpi.value, 0))
{% else %}
where fact.value is null
    or kpi.value is null
    or abs(fact.value - kpi.value) > 1e-9 * abs(kpi.value)
{% endif %}
{% endtest %}
