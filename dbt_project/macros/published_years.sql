{#- The marts publish years from var first_year. The year before it is loaded too, as an input
    only: the first published year's changes (jobs created, year-on-year change) need it. -#}
{% macro published_years(column) -%}
    {{ column }} >= {{ var('first_year') }}
{%- endmacro %}

{% macro loaded_years(column) -%}
    {{ column }} >= {{ var('first_year') }} - 1
{%- endmacro %}
