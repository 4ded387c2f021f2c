{#- The newest release (vintage) of each citizenship in `relation`: the release first loaded last.
    Ordered by when a release was first loaded, not by each row's load time, so reloading some
    years of an older release (a backfill) never makes it the newest. -#}
{% macro latest_release(relation) -%}
    select citizenship_code, vintage
    from (
        select
            citizenship_code,
            vintage,
            row_number() over (partition by citizenship_code order by min(loaded_at) desc, vintage desc) as release_rank
        from {{ relation }}
        group by citizenship_code, vintage
    ) as releases
    where release_rank = 1
{%- endmacro %}
