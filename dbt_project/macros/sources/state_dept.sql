{#- The state_dept source's models that the shared marts collect (see macros/source_models.sql). -#}
{% macro source_models__state_dept() %}
    {{ return({'kpi_values': ['int_state_dept__kpi_values'], 'kpi_lineage': ['int_state_dept__kpi_lineage']}) }}
{% endmacro %}
