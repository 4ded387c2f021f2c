{#- No NULL in any of a model's listed columns, in one query (and one Dagster check) per model rather
    than dbt's not_null once per column: each column's NULLs are counted in one scan, and a failure
    returns one row per column that has any, naming it (null_column) with its count (null_rows).
    Portable between DuckDB and PostgreSQL (sum over a case, no FILTER clause). -#}
{% test not_null_columns(model, column_names) %}
with null_counts as (
    select
        {%- for column_name in column_names %}
        sum(case when {{ column_name }} is null then 1 else 0 end) as nulls_{{ loop.index }}{{ "," if not loop.last }}
        {%- endfor %}
    from {{ model }}
)

{% for column_name in column_names -%}
select '{{ column_name }}' as null_column, nulls_{{ loop.index }} as null_rows
from null_counts
where nulls_{{ loop.index }} > 0
{% if not loop.last %}union all
{% endif %}
{%- endfor %}
{% endtest %}
