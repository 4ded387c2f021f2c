"""State Department visas: revision bounds between releases, and visas within population."""

from orchestration.check.plausibility import Plausibility, RevisionRule, counts_per_country
from orchestration.sources.worldbank.plausibility import within_population

NIV = "state_dept_niv_issuances"
IV = "state_dept_iv_issuances"


def niv_counts(incoming, reference):
    totals = incoming.drop_duplicates(["country_iso3", "nationality", "fiscal_year", "vintage"])
    return counts_per_country(totals, "country_iso3", "fiscal_year", "nationality_grand_total",
                              lambda iso3: f"{iso3} nonimmigrant visas (Grand Total)")


def iv_counts(incoming, reference):
    return counts_per_country(incoming, "country_iso3", "fiscal_year", "total", lambda iso3: f"{iso3} immigrant visas (Total)")


PLAUSIBILITY = Plausibility(
    revisions=(
        RevisionRule(NIV, ("country_iso3", "visa_class"), "fiscal_year", "issuances", floor=1_000, ordered_by_loading=True,
                     why="each NIV Detail Table release restates past fiscal years"),
        RevisionRule(IV, ("country_iso3",), "fiscal_year", "total", floor=1_000, ordered_by_loading=True,
                     why="a republished Table III restates its fiscal year"),
    ),
    ceilings=(
        within_population("nonimmigrant_visas_within_population", NIV, niv_counts,
                          why="visas issued to a nationality in a year cannot exceed its population"),
        within_population("immigrant_visas_within_population", IV, iv_counts,
                          why="visas issued to a nationality in a year cannot exceed its population"),
    ),
)
