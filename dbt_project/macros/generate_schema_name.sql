{#- Custom schemas are used as they are (marts, staging, ...), not prefixed with the target schema,
    so BI tools find the contract's `marts` schema under the same name on every target. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
