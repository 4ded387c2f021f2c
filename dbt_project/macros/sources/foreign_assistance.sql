{#- The foreign_assistance source's models that the shared marts collect (see macros/source_models.sql). -#}
{% macro source_models__foreign_assistance() %}
    {{ return({'kpi_values': ['int_foreign_assistance__kpi_values'], 'kpi_revisions': ['int_foreign_assistance__published_values'], 'kpi_lineage': ['int_foreign_assistance__kpi_lineage']}) }}
{% endmacro %}
