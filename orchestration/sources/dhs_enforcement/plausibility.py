"""DHS enforcement (removals, returns, credible-fear referrals): revision bounds, and removals within population.

Between the April and August 2024 monthly tables, complete fiscal years moved by under 1% (Mexico's
FY2022 removals 56,370 -> 56,160); a complete year that halves or doubles is a parsing or
completeness error until someone declares the revision.
"""

from orchestration.check.plausibility import Plausibility, RevisionRule, counts_per_country
from orchestration.sources.worldbank.plausibility import within_population

ANNUAL = "dhs_enforcement_annual"
MONTHLY = "dhs_enforcement_monthly"


def annual_counts(incoming, reference):
    return counts_per_country(incoming, "citizenship_code", "fiscal_year", "persons",
                              lambda iso3: f"{iso3} removals, returns and credible-fear referrals")


PLAUSIBILITY = Plausibility(
    revisions=(
        RevisionRule(ANNUAL, ("citizenship_code", "measure"), "fiscal_year", "persons", floor=1_000, partial="is_partial_year",
                     why="each monthly-tables release restates complete fiscal years (under 1% apart in 2024)"),
        RevisionRule(MONTHLY, ("citizenship_code", "measure"), "fiscal_year", "persons", floor=1_000, partial="is_partial_year",
                     why="a complete fiscal year's months, summed, restate the same persons in every release"),
    ),
    ceilings=(
        within_population("enforcement_within_population", ANNUAL, annual_counts,
                          why="people of a country removed, returned or referred in a year cannot exceed its population"),
    ),
)
