{#- The dhs_enforcement source's models that the shared marts collect (see macros/source_models.sql). -#}
{% macro source_models__dhs_enforcement() %}
    {{ return({'kpi_values': ['int_dhs_enforcement__kpi_values'], 'kpi_revisions': ['int_dhs_enforcement__published_values'], 'kpi_lineage': ['int_dhs_enforcement__kpi_lineage']}) }}
{% endmacro %}
