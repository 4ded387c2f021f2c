{#- The later of two vintage dates (a derived value is as new as its newest input); NULL-safe and
    portable (greatest() ignores NULLs on PostgreSQL but not everywhere). -#}
{% macro later_vintage(first, second) -%}
    case
        when {{ first }} is null then {{ second }}
        when {{ second }} is null or {{ first }} >= {{ second }} then {{ first }}
        else {{ second }}
    end
{%- endmacro %}
