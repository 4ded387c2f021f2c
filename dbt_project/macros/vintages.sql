{#- Typed vintages and periods. Every mart that carries a vintage has the publisher's own label
    (source_vintage, text whose format differs by publisher) and vintage_date, a date: the
    publisher's release date where it gives one (World Bank last-updated date, ForeignAssistance.gov
    release date, UNHCR as-of date), else the last day the release's data cover (the OHSS tables'
    data month, the CBP and OHSS encounter files' last month, the State Department's last fiscal year,
    the UNODC annex's last reference year). Each source's models compute it from their own labels;
    which vintage is newest is decided here, by that date. -#}

{#- True on the rows of the newest vintage of their `partition_by` columns (a list). -#}
{% macro is_newest_vintage(partition_by, vintage_date='vintage_date') -%}
    {{ vintage_date }} = max({{ vintage_date }}) over (partition by {{ partition_by | join(', ') }})
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
