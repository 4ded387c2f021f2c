{#- The worldbank source's models that the shared marts collect (see macros/source_models.sql). -#}
{% macro source_models__worldbank() %}
    {{ return({'kpi_values': ['int_worldbank__kpi_values'], 'kpi_revisions': ['int_worldbank__published_values'], 'kpi_lineage': ['int_worldbank__kpi_lineage']}) }}
{% endmacro %}
