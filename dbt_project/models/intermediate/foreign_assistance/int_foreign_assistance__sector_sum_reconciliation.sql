-- Holds the two sources together: per country x fiscal year x transaction type complete in both
-- (latest releases), the USG-sector rows summed beside the Country Summary. Rows are rounded to the
-- dollar, so sums may differ by a few dollars ($10 tolerance). A larger difference that the team has
-- declared in seeds/foreign_assistance/known_revisions.csv is a revision between releases (the sector
-- data come from a later release); any other difference is unexplained. Declared revisions that are
-- no longer observed are listed too, so the seed cannot go stale silently.
with sector_sums as (
    select
        country_iso3,
        fiscal_year,
        transaction_type_name,
        sum(current_amount) as sector_sum,
        max(vintage) as sector_vintage
    from {{ ref('int_foreign_assistance__usg_sector_vintages') }}
    where is_latest_vintage and not is_partial_year
    group by country_iso3, fiscal_year, transaction_type_name
),

country_summary as (
    select
        country_iso3,
        fiscal_year,
        transaction_type_name,
        current_amount as country_summary_amount,
        vintage as country_summary_vintage
    from {{ ref('int_foreign_assistance__country_summary_vintages') }}
    where is_latest_vintage and not is_partial_year and transaction_type_id in (2, 3)
),

compared as (
    select
        sector_sums.country_iso3,
        sector_sums.fiscal_year,
        sector_sums.transaction_type_name,
        sector_sums.sector_sum,
        country_summary.country_summary_amount,
        sector_sums.sector_sum - country_summary.country_summary_amount as difference,
        sector_sums.sector_vintage,
        country_summary.country_summary_vintage
    from sector_sums
    inner join country_summary
        on sector_sums.country_iso3 = country_summary.country_iso3
        and sector_sums.fiscal_year = country_summary.fiscal_year
        and sector_sums.transaction_type_name = country_summary.transaction_type_name
),

-- a declared revision is expected only in a year that is loaded (a backfill may load a few years)
revisions as (
    select known_revisions.*
    from {{ ref('known_revisions') }} as known_revisions
    where exists (
        select 1 from sector_sums
        where sector_sums.country_iso3 = known_revisions.country_iso3
            and sector_sums.fiscal_year = known_revisions.fiscal_year
    )
)

select
    coalesce(compared.country_iso3, revisions.country_iso3) as country_iso3,
    coalesce(compared.fiscal_year, revisions.fiscal_year) as fiscal_year,
    coalesce(compared.transaction_type_name, revisions.transaction_type_name) as transaction_type_name,
    compared.sector_sum,
    compared.country_summary_amount,
    compared.difference,
    revisions.difference_usd as declared_revision_usd,
    revisions.revision_name,
    compared.sector_vintage,
    compared.country_summary_vintage,
    case
        when compared.difference is null then 'declared revision not observed'
        when revisions.revision_name is not null
            and abs(compared.difference - revisions.difference_usd) <= 10 then 'revision between releases'
        when revisions.revision_name is not null then 'declared revision does not match'
        when abs(compared.difference) <= 10 then 'match'
        else 'unexplained difference'
    end as reconciliation_status
from compared
full outer join revisions
    on compared.country_iso3 = revisions.country_iso3
    and compared.fiscal_year = revisions.fiscal_year
    and compared.transaction_type_name = revisions.transaction_type_name
