"""The World Bank's plausibility rules, and the population ceiling other sources' head counts use.

Revisions: WDI revisions between releases in the snapshot stay within 9% (homicide rates, UNODC); a
value that halves or doubles is a unit or scaling error until someone declares otherwise. Ceilings:
a labour force cannot exceed the population, employed persons cannot exceed what the
employment-to-population ratio allows, and (``within_population``) visas, encounters, removals or
displaced people of a country in a year cannot exceed its population.
"""

from __future__ import annotations

from typing import Callable

import pandas as pd

from orchestration.check.plausibility import CeilingRule, Plausibility, Reference, RevisionRule, counts_per_country, vintage_text

DATASET = "worldbank_indicator_values"
POPULATION = "SP.POP.TOTL"
LABOUR_FORCE = "SL.TLF.TOTL.IN"
UNEMPLOYMENT_RATE = "SL.UEM.TOTL.ZS"
EMPLOYMENT_RATIO = "SL.EMP.TOTL.SP.ZS"
COLUMNS = ("country_iso3", "indicator_id", "year", "value", "vintage")
REFERENCE_INDICATORS = (POPULATION, LABOUR_FORCE, UNEMPLOYMENT_RATE, EMPLOYMENT_RATIO)


def _reference_keys(countries: list[str]) -> pd.DataFrame:
    return pd.DataFrame([(iso3, indicator) for iso3 in countries for indicator in REFERENCE_INDICATORS],
                        columns=["country_iso3", "indicator_id"])


# The World Bank series the ceilings read: population, labour force, unemployment and employment ratio
WORLD_BANK_REFERENCE = Reference(DATASET, COLUMNS, _reference_keys)


def newest_values(worldbank: pd.DataFrame, indicator: str) -> pd.DataFrame:
    """country_iso3, year, value of ``indicator`` at its newest vintage per country and year."""
    rows = worldbank[worldbank["indicator_id"] == indicator]
    if rows.empty:
        return pd.DataFrame({"country_iso3": pd.Series(dtype="object"), "year": pd.Series(dtype="int64"),
                             "value": pd.Series(dtype="float64")})
    rows = rows.assign(vintage=vintage_text(rows["vintage"])).sort_values("vintage")
    newest = rows.groupby(["country_iso3", "year"], as_index=False).last()
    return newest[["country_iso3", "year", "value"]].astype({"year": "int64", "value": "float64"})


def population(worldbank: pd.DataFrame) -> pd.DataFrame:
    return newest_values(worldbank, POPULATION).rename(columns={"value": "ceiling"})


def employment_ratio_ceiling(worldbank: pd.DataFrame) -> pd.DataFrame:
    """Employed persons the employment-to-population ratio (of people 15+) allows at most: the ratio
    times the whole population (more than the population aged 15+)."""
    ratio = newest_values(worldbank, EMPLOYMENT_RATIO)
    both = ratio.merge(newest_values(worldbank, POPULATION), on=["country_iso3", "year"], suffixes=("_ratio", "_population"))
    return both.assign(ceiling=both["value_ratio"] / 100 * both["value_population"])[["country_iso3", "year", "ceiling"]]


def labour_force_counts(incoming: pd.DataFrame, worldbank: pd.DataFrame) -> pd.DataFrame:
    rows = incoming[incoming["indicator_id"] == LABOUR_FORCE]
    return counts_per_country(rows, "country_iso3", "year", "value", lambda iso3: f"{iso3} {LABOUR_FORCE}")


def employment_counts(incoming: pd.DataFrame, worldbank: pd.DataFrame) -> pd.DataFrame:
    """Employed persons as the warehouse derives them (labour force x (1 - unemployment/100)), from
    the newest vintages once this release is loaded, for the country-years the release touches."""
    touched = incoming[incoming["indicator_id"].isin([LABOUR_FORCE, UNEMPLOYMENT_RATE])][["country_iso3", "year"]].drop_duplicates()
    if worldbank.empty:  # which countries the rule reads: those the release touches
        return counts_per_country(touched.assign(vintage="", value=0.0), "country_iso3", "year", "value", str)
    both = newest_values(worldbank, LABOUR_FORCE).merge(
        newest_values(worldbank, UNEMPLOYMENT_RATE), on=["country_iso3", "year"], suffixes=("_labour", "_unemployment"))
    both = both.merge(touched, on=["country_iso3", "year"])
    employed = both.assign(value=both["value_labour"] * (1 - both["value_unemployment"] / 100), vintage="newest of each")
    return counts_per_country(employed, "country_iso3", "year", "value",
                              lambda iso3: f"{iso3} employed ({LABOUR_FORCE} x (1 - {UNEMPLOYMENT_RATE}/100))")


def within_population(name: str, dataset: str, counts: Callable[[pd.DataFrame, pd.DataFrame], pd.DataFrame],
                      why: str) -> CeilingRule:
    """A ceiling rule: ``counts`` of ``dataset`` per country and year may not exceed the population."""
    return CeilingRule(name, dataset, counts, population, POPULATION, why=why, reference=WORLD_BANK_REFERENCE)


PLAUSIBILITY = Plausibility(
    revisions=(
        RevisionRule(DATASET, ("country_iso3", "indicator_id"), "year", "value", floor=1.0,
                     why="WDI revisions between releases in the snapshot stay within 9% (homicide rates, UNODC); "
                         "a value that halves or doubles is a unit or scaling error until someone declares otherwise "
                         "(every indicator: labour market, education, homicides, population, remittances)"),
    ),
    ceilings=(
        within_population("labour_force_within_population", DATASET, labour_force_counts,
                          why="a labour force cannot exceed the population"),
        CeilingRule("employment_within_employment_ratio", DATASET, employment_counts, employment_ratio_ceiling,
                    f"{EMPLOYMENT_RATIO} x {POPULATION}", reference=WORLD_BANK_REFERENCE,
                    why="employed persons cannot exceed what the employment-to-population ratio allows"),
    ),
)
