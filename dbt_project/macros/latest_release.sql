{#- The newest release (vintage) of each citizenship in `relation`. A release's age is read from its
    content, not from when it was loaded: the last fiscal month it covers (`months`, a relation with
    vintage, fiscal_year and fiscal_month rows of the same releases), then its name. So the same
    landings give the same newest release whatever order they were loaded in, and reloading an
    older release (a backfill) never makes it the newest. -#}
{% macro latest_release(relation, months) -%}
    select releases.citizenship_code, releases.vintage
    from (
        select
            present.citizenship_code,
            present.vintage,
            row_number() over (
                partition by present.citizenship_code
                order by coverage.last_fiscal_month desc, present.vintage desc
            ) as release_rank
        from (select distinct citizenship_code, vintage from {{ relation }}) as present
        inner join (
            select vintage, max(fiscal_year * 100 + fiscal_month) as last_fiscal_month
            from {{ months }}
            group by vintage
        ) as coverage
            on present.vintage = coverage.vintage
    ) as releases
    where releases.release_rank = 1
{%- endmacro %}
