{#- The cbp source's models that the shared marts collect (see macros/source_models.sql). -#}
{% macro source_models__cbp() %}
    {{ return({'kpi_values': ['int_cbp__kpi_values'], 'kpi_lineage': ['int_cbp__kpi_lineage']}) }}
{% endmacro %}
