"""UNODC drug seizures: revision bounds between annex releases.

A World Drug Report annex restates the years of the one before it; a country's seizures of a drug
group that halve or double for the same year are a unit (kg against tons) or parsing error until
someone declares the revision. Annexes are named by their years, so they are ordered by loading.
"""

from orchestration.check.plausibility import Plausibility, RevisionRule

PLAUSIBILITY = Plausibility(
    revisions=(
        RevisionRule("unodc_drug_seizures", ("country_iso3", "drug_group"), "year", "kilograms", floor=100,
                     ordered_by_loading=True,
                     why="an annex restates the years of the annex before it; kilograms that halve or double are a unit "
                         "or parsing error"),
    ),
)
