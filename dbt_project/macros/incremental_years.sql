{#- On an incremental run, keep only the years of the run's partition range (vars min_year and
    max_year, set by the Dagster asset from the partitions); a full build keeps every year.
    Models using it are configured delete+insert on their year column, so the range's years are
    replaced and the others left as they are. -#}
{% macro incremental_years(column) -%}
    {%- if is_incremental() -%}
    {{ column }} between {{ var('min_year', var('first_year')) }} and {{ var('max_year', 9999) }}
    {%- else -%}
    1 = 1
    {%- endif -%}
{%- endmacro %}
