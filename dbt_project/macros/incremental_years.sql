{#- The yearly incremental facts rebuild a range of years: vars min_year and max_year, set by the
    Dagster dbt asset from what changed since the live publication (every release loaded since,
    and the run's own partition range). A first build, or a run without the vars, covers every year. -#}
{% macro incremental_min_year() -%}{{ var('min_year', var('first_year')) }}{%- endmacro %}
{% macro incremental_max_year() -%}{{ var('max_year', 9999) }}{%- endmacro %}

{#- On an incremental run, keep only the years of the range; a full build keeps every year. -#}
{% macro incremental_years(column) -%}
    {%- if is_incremental() -%}
    {{ column }} between {{ incremental_min_year() }} and {{ incremental_max_year() }}
    {%- else -%}
    1 = 1
    {%- endif -%}
{%- endmacro %}

{#- incremental_strategy='replace_range' (meta={'range_column': 'year'} or 'fiscal_year', in meta as dbt
    asks of custom configuration; read with config.meta_require): delete EVERY
    row of the range, then insert the new batch. dbt's delete+insert deletes only the keys present
    in the batch, so a year of the range that no longer has rows would keep its old ones. Plain SQL,
    the same on DuckDB and PostgreSQL. -#}
{% macro get_incremental_replace_range_sql(arg_dict) -%}
    {%- set range_column = adapter.quote(config.meta_require('range_column')) -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    delete from {{ arg_dict['target_relation'] }}
    where {{ range_column }} between {{ incremental_min_year() }} and {{ incremental_max_year() }};

    insert into {{ arg_dict['target_relation'] }} ({{ columns }})
    select {{ columns }}
    from {{ arg_dict['temp_relation'] }}
    where {{ range_column }} between {{ incremental_min_year() }} and {{ incremental_max_year() }}
{%- endmacro %}
