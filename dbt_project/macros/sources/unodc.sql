{#- The unodc source's models that the shared marts collect (see macros/source_models.sql). -#}
{% macro source_models__unodc() %}
    {{ return({'kpi_values': ['int_unodc__kpi_values'], 'kpi_revisions': ['int_unodc__published_values'], 'kpi_lineage': ['int_unodc__kpi_lineage']}) }}
{% endmacro %}
