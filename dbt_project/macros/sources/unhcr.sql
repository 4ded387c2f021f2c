{#- The unhcr source's models that the shared marts collect (see macros/source_models.sql). -#}
{% macro source_models__unhcr() %}
    {{ return({'kpi_values': ['int_unhcr__kpi_values'], 'kpi_revisions': ['int_unhcr__published_values'], 'kpi_lineage': ['int_unhcr__kpi_lineage']}) }}
{% endmacro %}
