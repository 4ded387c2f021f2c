{#- The sum a BI tool makes when a user drops the measure on a chart: `column_name` summed over every
    row of the fact per country and year, with no filter, equals the KPI's value in kpi_annual for
    every country and year kpi_annual has. A fact may hold years the KPI lacks (a fiscal year to
    date); it may not lack or disagree on a KPI year. `absolute_tolerance`: for figures the publisher
    rounds per row (monthly values rounded to 10 beside a rounded annual figure); with it, a year
    without rows sums to zero (a small country whose every month rounds to nothing has no monthly
    rows while its year rounds to 10). -#}
{% test sums_to_kpi_annual(model, column_name, kpi_id, year_column='year', absolute_tolerance=0) %}
with naive_sum as (

    select
        country_iso3,
        {{ year_column }} as year,
        sum({{ column_name }}) as value
    from {{ model }}
    group by country_iso3, {{ year_column }}

),

kpi as (

    select country_iso3, year, value
    from {{ ref('kpi_annual') }}
    where kpi_id = '{{ kpi_id }}'

)

select
    kpi.country_iso3,
    '{{ kpi_id }}' as kpi_id,
    kpi.year,
    naive_sum.value as naive_sum,
    kpi.value as kpi_annual_value
from kpi
left join naive_sum
    on kpi.country_iso3 = naive_sum.country_iso3
    and kpi.year = naive_sum.year
{% if absolute_tolerance > 0 %}
where abs(coalesce(naive_sum.value, 0) - kpi.value) > {{ absolute_tolerance }} + 1e-9 * abs(kpi.value)
{% else %}
where naive_sum.value is null
    or abs(naive_sum.value - kpi.value) > 1e-9 * abs(kpi.value)
{% endif %}
{% endtest %}
