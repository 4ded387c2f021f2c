-- DEPRECATED in 0.3.0, removed in 0.4.0: the 0.2.0 shape of kpi_inputs_outcomes (amounts repeated on
-- the row of each KPI paired with their category). Use kpi_inputs_outcomes with fct_us_assistance and
-- fct_us_assistance_by_sector.
-- Inputs beside outcomes, side by side (no causal claim): per country and year, the US assistance
-- obligated and disbursed in a sector category (latest release) next to the value of an outcome KPI
-- that the category's programmes are meant to move (seeds/foreign_assistance/sector_category_outcome_kpis.csv).
-- 'All sectors' amounts are the Country Summary totals; the sector categories come from the API by
-- USG sector (HND and GTM only).
with category_amounts as (
    select
        country_iso3,
        fiscal_year,
        'All sectors' as sector_category,
        'country_summary' as source_dataset,
        vintage_date as assistance_vintage,
        is_partial_year,
        obligations_usd as obligations_current_usd,
        disbursements_usd as disbursements_current_usd
    from {{ ref('fct_us_assistance') }}
    union all
    select
        country_iso3,
        fiscal_year,
        sector_category,
        'api_by_usg_sector' as source_dataset,
        max(vintage_date) as assistance_vintage,
        max(case when is_partial_year then 1 else 0 end) = 1 as is_partial_year,
        sum(obligations_usd) as obligations_current_usd,
        sum(disbursements_usd) as disbursements_current_usd
    from {{ ref('fct_us_assistance_by_sector') }}
    group by country_iso3, fiscal_year, sector_category
),

pairs as (
    select
        category_amounts.*,
        mapping.outcome_kpi_id
    from category_amounts
    inner join {{ ref('sector_category_outcome_kpis') }} as mapping
        on category_amounts.sector_category = mapping.sector_category
)

select
    cast(pairs.country_iso3 as varchar) as country_iso3,
    cast(pairs.fiscal_year as integer) as year,
    cast(pairs.sector_category as varchar) as sector_category,
    cast(pairs.obligations_current_usd as bigint) as obligations_current_usd,
    cast(pairs.disbursements_current_usd as bigint) as disbursements_current_usd,
    cast(pairs.is_partial_year as boolean) as is_partial_year,
    cast(pairs.source_dataset as varchar) as assistance_source,
    cast(pairs.assistance_vintage as date) as assistance_vintage,
    cast(pairs.outcome_kpi_id as varchar) as outcome_kpi_id,
    cast(outcomes.value as double precision) as outcome_value
from pairs
left join {{ ref('kpi_annual') }} as outcomes
    on pairs.country_iso3 = outcomes.country_iso3
    and pairs.outcome_kpi_id = outcomes.kpi_id
    and pairs.fiscal_year = outcomes.year
