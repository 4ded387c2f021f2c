"""CBP / OHSS encounters: revision bounds between releases, and encounters within population.

Every OHSS release restates complete fiscal years (rounded to 10), and CBP's monthly release
restates the fiscal years it carries; a complete year's total that halves or doubles between two
releases is a parsing, unit or completeness error until someone declares the revision.
"""

from orchestration.check.plausibility import Plausibility, RevisionRule, counts_per_country
from orchestration.sources.worldbank.plausibility import within_population

OHSS_ANNUAL = "cbp_ohss_encounters_annual"
OHSS_MONTHLY = "cbp_ohss_encounters_monthly"
SBO_MONTHLY = "cbp_sbo_encounters_monthly"


def encounter_counts(incoming, reference):
    return counts_per_country(incoming, "citizenship_code", "fiscal_year", "encounters",
                              lambda iso3: f"{iso3} Border Patrol encounters (all regions)")


PLAUSIBILITY = Plausibility(
    revisions=(
        RevisionRule(OHSS_ANNUAL, ("citizenship_code", "region"), "fiscal_year", "encounters", floor=1_000,
                     partial="is_partial_year", ordered_by_loading=True,
                     why="every OHSS release restates complete fiscal years (rounded to 10)"),
        RevisionRule(OHSS_MONTHLY, ("citizenship_code", "region"), "fiscal_year", "encounters", floor=1_000,
                     partial="is_partial_year", ordered_by_loading=True,
                     why="a complete fiscal year's months, summed, restate the same encounters in every OHSS release"),
        RevisionRule(SBO_MONTHLY, ("citizenship_code",), "fiscal_year", "encounters", floor=1_000,
                     partial="is_partial_year", ordered_by_loading=True,
                     why="CBP's monthly release restates the complete fiscal years it carries (every component, "
                         "demographic and authority summed)"),
    ),
    ceilings=(
        within_population("encounters_within_population", OHSS_ANNUAL, encounter_counts,
                          why="encounters of a country's citizens in a year cannot exceed its population"),
    ),
)
