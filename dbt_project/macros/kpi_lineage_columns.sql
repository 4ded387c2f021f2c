{#- The columns of a source's kpi_lineage model, in the order marts.kpi_lineage unions them: one
    projection for every int_<source>__kpi_lineage model, so the shape is written once. Each
    argument is a SQL expression over the model's rows; the four file columns default to the names
    every parser gives them (orchestration/fetch/cells.py LINEAGE_COLUMNS, plus fetch_id and
    source_url). -#}
{% macro kpi_lineage_columns(
        country_iso3, kpi_id, year, source_id, source_vintage, original_value, series_id, original_year, role, step,
        location='source_location', original_text='original_text', fetch_id='fetch_id', file_sha256='file_sha256',
        file_path='source_file', source_url='source_url') -%}
    cast({{ country_iso3 }} as varchar) as country_iso3,
    cast({{ kpi_id }} as varchar) as kpi_id,
    cast({{ year }} as integer) as year,
    cast({{ source_id }} as varchar) as source_id,
    cast({{ source_vintage }} as varchar) as source_vintage,
    cast({{ fetch_id }} as varchar) as fetch_id,
    cast({{ file_sha256 }} as varchar) as file_sha256,
    cast({{ file_path }} as varchar) as file_path,
    cast({{ source_url }} as varchar) as source_url,
    cast({{ location }} as varchar) as location,
    cast({{ original_text }} as varchar) as original_text,
    cast({{ original_value }} as double precision) as original_value,
    cast({{ series_id }} as varchar) as series_id,
    cast({{ original_year }} as integer) as original_year,
    cast({{ role }} as varchar) as role,
    cast({{ step }} as varchar) as step
{%- endmacro %}
