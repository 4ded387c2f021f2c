{#- The rows of `relation` (a CTE or relation name) that belong to the newest vintage of their
    `keys` (e.g. each country's newest release): a publisher's release restates the whole series,
    so a series is read from one release, never mixed year by year. Vintages must sort in release
    order as text or dates. -#}
{% macro newest_vintage_rows(relation, keys, vintage='vintage') -%}
    select {{ relation }}.*
    from {{ relation }}
    inner join (
        select {{ keys | join(', ') }}, max({{ vintage }}) as newest_vintage
        from {{ relation }}
        group by {{ keys | join(', ') }}
    ) as newest
        on {% for key in keys %}{{ relation }}.{{ key }} = newest.{{ key }} and {% endfor %}{{ relation }}.{{ vintage }} = newest.newest_vintage
{%- endmacro %}
