{#- The models each source contributes to the shared marts, by role: `kpi_values` (unioned by
    kpi_annual) and `kpi_revisions` (unioned by kpi_revisions). Nothing here names a source.

    A model plays a role by its tag (config: tags in its YAML). dbt must know a model's refs when it
    parses the project, and `graph` is still empty then, so each source also lists its models in
    macros/sources/<source>.sql, a macro named `source_models__<source>()` returning
    {role: [model, ...]}; those macros are found by iterating the macro namespace. When the build
    runs, `graph` is complete: the listed models and the tagged ones must be the same, or the build
    stops naming the difference (a partial parse made before a source was added, or a model tagged
    but not listed). -#}

{% macro source_models(role) -%}
    {%- set names = [] -%}
    {%- for macro_name in context.keys() | sort if macro_name.startswith('source_models__') -%}
        {%- do names.extend(context[macro_name]().get(role, [])) -%}
    {%- endfor -%}
    {{ return(names) }}
{%- endmacro %}


{% macro check_source_models(role, listed) -%}
    {%- if execute -%}
        {%- set tagged = [] -%}
        {%- for node in graph.nodes.values() if node.resource_type == 'model' and role in node.tags -%}
            {%- do tagged.append(node.name) -%}
        {%- endfor -%}
        {%- set not_listed = tagged | reject('in', listed) | list -%}
        {%- set not_tagged = listed | reject('in', tagged) | list -%}
        {%- if not_listed or not_tagged -%}
            {{ exceptions.raise_compiler_error(
                "models for role '" ~ role ~ "': tagged but not listed in a macros/sources/<source>.sql " ~ not_listed
                ~ "; listed but not tagged " ~ not_tagged
                ~ ". Tag each in its YAML and list it in its source's macro; after adding a source, "
                ~ "re-parse without the partial parse (dbt parse --no-partial-parse, or make clean).") }}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}


{#- `select * from` every model playing `role`, unioned (they share one column layout). -#}
{% macro union_source_models(role) -%}
    {%- set names = source_models(role) -%}
    {%- do check_source_models(role, names) -%}
    {%- if not names -%}
        {{ exceptions.raise_compiler_error("no source lists a model for role '" ~ role ~ "'") }}
    {%- endif -%}
    {%- for name in names %}
    select * from {{ ref(name) }}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
{%- endmacro %}
