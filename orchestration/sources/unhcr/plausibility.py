"""UNHCR: revision bounds on every stock and flow per country of origin, and displacement within population.

A series is an origin's total over every country of asylum: a paged answer that lost most of its
rows (a page header under-reporting the pages) moves that total far beyond the bound, though every
row it kept is right. End-year stocks are restated by the mid-year update by a few percent.
"""

from orchestration.check.plausibility import Plausibility, RevisionRule, counts_per_country
from orchestration.sources.worldbank.plausibility import within_population

POPULATION = "unhcr_population"
IDMC = "unhcr_idmc_idps"
APPLICATIONS = "unhcr_asylum_applications"
DECISIONS = "unhcr_asylum_decisions"
RESTATED = "UNHCR restates end-year stocks and yearly flows by a few percent between releases"


def displaced_counts(incoming, reference):
    displaced = incoming.assign(displaced=incoming[["refugees", "asylum_seekers", "idps"]].fillna(0).sum(axis=1))
    return counts_per_country(displaced, "origin_iso3", "year", "displaced",
                              lambda iso3: f"{iso3} refugees, asylum-seekers and IDPs (every country of asylum)")


PLAUSIBILITY = Plausibility(
    revisions=(
        *(RevisionRule(POPULATION, ("origin_iso3",), "year", column, floor=1_000, name=f"revision of {column}", why=RESTATED)
          for column in ("refugees", "asylum_seekers", "idps")),
        RevisionRule(IDMC, ("origin_iso3",), "year", "idps", floor=1_000, why=RESTATED),
        RevisionRule(APPLICATIONS, ("origin_iso3", "count_unit"), "year", "applied", floor=1_000, why=RESTATED),
        RevisionRule(DECISIONS, ("origin_iso3", "count_unit"), "year", "dec_total", floor=1_000, why=RESTATED),
    ),
    ceilings=(
        within_population("displacement_within_population", POPULATION, displaced_counts,
                          why="a country's refugees, asylum-seekers and IDPs cannot exceed its population"),
    ),
)
