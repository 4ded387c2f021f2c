-- Inputs beside outcomes (no causal claim): which outcome KPI each sector category's programmes are
-- meant to move (seeds/foreign_assistance/sector_category_outcome_kpis.csv), per country and year,
-- with the outcome's kpi_annual value. The assistance amounts are not repeated here (a category's
-- amounts would repeat on the row of each KPI paired with it): they are in the two summable facts
-- named by assistance_table, joined on country_iso3, year = fiscal_year and sector_category.
with categories as (
    select distinct
        country_iso3,
        fiscal_year,
        'All sectors' as sector_category,
        'fct_us_assistance' as assistance_table
    from {{ ref('fct_us_assistance') }}
    union all
    select distinct
        country_iso3,
        fiscal_year,
        sector_category,
        'fct_us_assistance_by_sector' as assistance_table
    from {{ ref('fct_us_assistance_by_sector') }}
)

select
    cast(categories.country_iso3 as varchar) as country_iso3,
    cast(categories.fiscal_year as integer) as year,
    cast(categories.sector_category as varchar) as sector_category,
    cast(categories.assistance_table as varchar) as assistance_table,
    cast(mapping.outcome_kpi_id as varchar) as outcome_kpi_id,
    cast(outcomes.period_id as varchar) as outcome_period_id,
    cast(outcomes.value as double precision) as outcome_value,
    cast(outcomes.unit as varchar) as outcome_unit
from categories
inner join {{ ref('sector_category_outcome_kpis') }} as mapping
    on categories.sector_category = mapping.sector_category
left join {{ ref('kpi_annual') }} as outcomes
    on categories.country_iso3 = outcomes.country_iso3
    and mapping.outcome_kpi_id = outcomes.kpi_id
    and categories.fiscal_year = outcomes.year
