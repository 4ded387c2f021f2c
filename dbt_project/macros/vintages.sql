{#- Typed vintages and periods. Every mart that carries a vintage has the publisher's own label
    (source_vintage, text whose format differs by publisher) and vintage_date, a date: the
    publisher's release date where it gives one (World Bank last-updated date, ForeignAssistance.gov
    release date, UNHCR as-of date), else the last day the release's data cover (the OHSS tables'
    data month, the CBP and OHSS encounter files' last month, the State Department's last fiscal year,
    the UNODC annex's last reference year). Each source's models compute it from their own labels;
    which vintage is newest is decided here, by that date. -#}

{#- "Newest" is decided here, and only here, in two forms of one rule: the release with the latest
    vintage_date is the newest; between releases with the same vintage_date, the one whose label sorts
    last (a tie-break that only makes the choice deterministic, so the same landings give the same
    answer whatever order they were loaded in and a reloaded older release never becomes the newest).
    `vintage_date` is a SQL expression over the rows' columns (each source's rule for its labels). -#}

{#- Flag form: true on the rows of the newest vintage of their `partition_by` columns (a list). -#}
{% macro is_newest_vintage(partition_by, vintage_date='vintage_date', vintage=none) -%}
    {%- if vintage is none -%}
    {{ vintage_date }} = max({{ vintage_date }}) over (partition by {{ partition_by | join(', ') }})
    {%- else -%}
    dense_rank() over (
        partition by {{ partition_by | join(', ') }}
        order by {{ vintage_date }} desc, {{ vintage }} desc
    ) = 1
    {%- endif -%}
{%- endmacro %}

{#- Filter form: the rows of `relation` (a CTE or relation name) that belong to the newest vintage of
    their `keys` (e.g. each country's newest release). A publisher's release restates the whole series,
    so a series is read from one release, never mixed year by year. `vintage_dates`, when given, is a
    relation of (vintage, vintage_date) for sources whose release date is read from the release's
    content (e.g. the last month it covers); `vintage_date` then names its column. -#}
{% macro newest_vintage_rows(relation, keys, vintage_date, vintage='vintage', vintage_dates=none) -%}
    {%- if vintage_date is not defined or vintage_date is none or vintage_date == '' -%}
        {{ exceptions.raise_compiler_error("newest_vintage_rows(" ~ relation ~ "): give the release date expression (vintage_date), e.g. 'cast(vintage as date)'") }}
    {%- endif %}
    select {{ relation }}.*
    from {{ relation }}
    inner join (
        select {% for key in keys %}ranked.{{ key }}, {% endfor %}ranked.{{ vintage }} as newest_vintage
        from (
            select
                releases.*,
                row_number() over (
                    partition by {% for key in keys %}releases.{{ key }}{{ ', ' if not loop.last }}{% endfor %}
                    order by releases.release_date desc, releases.{{ vintage }} desc
                ) as release_rank
            from (
                select distinct
                    {% for key in keys %}{{ relation }}.{{ key }}, {% endfor %}{{ relation }}.{{ vintage }},
                    {{ vintage_date }} as release_date
                from {{ relation }}
                {%- if vintage_dates is not none %}
                inner join {{ vintage_dates }} as release_dates
                    on {{ relation }}.{{ vintage }} = release_dates.vintage
                {%- endif %}
            ) as releases
        ) as ranked
        where ranked.release_rank = 1
    ) as newest
        on {% for key in keys %}{{ relation }}.{{ key }} = newest.{{ key }} and {% endfor %}{{ relation }}.{{ vintage }} = newest.newest_vintage
{%- endmacro %}

{#- The release date of a release read from its content: the last day of the last US fiscal month its
    rows in `months` (a relation of vintage, fiscal_year, fiscal_month) cover, one row per vintage. -#}
{% macro release_dates_from_coverage(months) -%}
    select
        coverage.vintage,
        {{ fiscal_month_end_date(
            'cast((coverage.last_fiscal_month - coverage.last_fiscal_month % 100) / 100 as integer)',
            'coverage.last_fiscal_month % 100') }} as vintage_date
    from (
        select vintage, max(fiscal_year * 100 + fiscal_month) as last_fiscal_month
        from {{ months }}
        group by vintage
    ) as coverage
{%- endmacro %}

{#- The last day of a calendar month (portable: no last_day() on PostgreSQL). -#}
{% macro month_end_date(year, month) -%}
    cast(make_date({{ year }}, {{ month }}, 1) + interval '1 month' - interval '1 day' as date)
{%- endmacro %}

{#- The last day of a US fiscal month (1 = October of the previous calendar year ... 12 = September). -#}
{% macro fiscal_month_end_date(fiscal_year, fiscal_month) -%}
    {{ month_end_date(
        'case when ' ~ fiscal_month ~ ' <= 3 then ' ~ fiscal_year ~ ' - 1 else ' ~ fiscal_year ~ ' end',
        '(' ~ fiscal_month ~ ' + 8) % 12 + 1') }}
{%- endmacro %}

{#- The conformed period key of dim_period: 'CY2023' (calendar year) or 'FY2023' (US fiscal year,
    October 2022 - September 2023). -#}
{% macro period_id(year_basis, year) -%}
    cast(case when {{ year_basis }} = 'us_fiscal' then 'FY' else 'CY' end || cast({{ year }} as varchar) as varchar)
{%- endmacro %}
