"""US foreign assistance: revision bounds between Country Summary and sector releases.

Complete fiscal years move by under 2% between the April and November 2025 Country Summary
releases; partial years grow several-fold as agencies report, so they are not compared.
"""

from orchestration.check.plausibility import Plausibility, RevisionRule

PLAUSIBILITY = Plausibility(
    revisions=(
        RevisionRule("foreign_assistance_country_summary", ("country_iso3", "transaction_type_name"), "fiscal_year",
                     "current_amount", floor=1_000_000, partial="is_partial_year",
                     why="complete fiscal years move by under 2% between the April and November 2025 Country Summary "
                         "releases; partial years grow several-fold as agencies report, so they are not compared"),
        RevisionRule("foreign_assistance_usg_sector_amounts", ("country_iso3", "transaction_type_name"), "fiscal_year",
                     "current_amount", floor=1_000_000, partial="is_partial_year",
                     why="the sectors of a complete fiscal year sum to the Country Summary amount (a dbt test), "
                         "which moves by under 2% between releases"),
    ),
    not_compared=(("foreign_assistance_usg_sectors", "the list of US Government sectors: names and ids, no quantities"),),
)
