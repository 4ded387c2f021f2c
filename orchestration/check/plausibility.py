"""Plausibility of a release before it is loaded: against the previous release of the same series,
and against population (across series and sources).

Suites check a release on its own (types, ranges, totals that add up). What they cannot see is a
release that is internally consistent but wrong by a factor: labour force and population both
multiplied by 1000 (3.8 billion employed Hondurans), a count that jumps tenfold from one release to
the next. Raw tables keep every vintage and the marts use the newest, so such a release, once
loaded with a newer date, would stay "newest". It is never loaded: the rules below turn into one
check frame per load (``plausibility_check``), validated by ``expectations/plausibility_check.json``
like any other check suite; a failure names the dataset, the series, the release and the years.

Two kinds of rule:

* ``RevisionRule``: a value may differ from the same series' value for the same year in the
  adjacent release (the previous one; the next one when the release is the oldest) by at most
  ``factor``, either way. Years partial in either release and values below ``floor`` in both are
  not compared (small counts and first estimates move a lot). A live run parses only the new
  landing, so the other releases come from the raw tables (``warehouse.raw_history``); a replay
  parses every landing and compares them with each other and with what raw holds.
* ``CeilingRule``: a head count may not exceed a ceiling from the World Bank series (population, or
  the employed persons the employment-to-population ratio allows), taken at the newest vintage of
  the release being loaded and of what raw holds, for the same country and the nearest year.

A deliberate large revision is accepted by declaring it in
``expectations/plausibility/declared_revisions.csv`` (dataset, series, years, release, why), beside
the suites, as the known assistance revision is declared in the foreign-assistance seeds.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pandas as pd

from orchestration.core.settings import EXPECTATIONS_DIR

CHECK_SUITE = "plausibility_check"
DECLARED_REVISIONS_PATH = EXPECTATIONS_DIR / "plausibility" / "declared_revisions.csv"
CHECK_COLUMNS = ["dataset", "rule", "series", "vintage", "compared_with", "years_compared", "implausible_years",
                 "implausible_count", "declared_years", "example"]

WORLDBANK_TABLE = "worldbank_indicator_values"
POPULATION = "SP.POP.TOTL"
LABOUR_FORCE = "SL.TLF.TOTL.IN"
UNEMPLOYMENT_RATE = "SL.UEM.TOTL.ZS"
EMPLOYMENT_RATIO = "SL.EMP.TOTL.SP.ZS"
WORLDBANK_COLUMNS = ["country_iso3", "indicator_id", "year", "value", "vintage"]


@dataclass(frozen=True)
class RevisionRule:
    """Values of ``dataset`` may move by at most ``factor`` between adjacent releases of a series."""

    dataset: str
    series: tuple[str, ...]
    year: str
    value: str
    factor: float
    floor: float
    why: str
    partial: str | None = None
    # releases named rather than dated (a file name, a title): the one loaded before is the previous
    ordered_by_loading: bool = False
    vintage: str = "vintage"

    @property
    def columns(self) -> list[str]:
        return [*self.series, self.year, self.value, self.vintage, *([self.partial] if self.partial else [])]


@dataclass(frozen=True)
class CeilingRule:
    """Head counts of ``dataset`` (``counts``: country_iso3, year, vintage, series, value) may not
    exceed ``ceiling`` (country_iso3, year, ceiling) for the same country, at the nearest year."""

    name: str
    dataset: str
    counts: Callable[[pd.DataFrame, pd.DataFrame], pd.DataFrame]  # (incoming rows, World Bank state)
    ceiling: Callable[[pd.DataFrame], pd.DataFrame]  # World Bank state -> ceilings
    ceiling_name: str
    why: str


# ------------------------------------------------------------------ ceilings (from the World Bank series)


def vintage_text(values: pd.Series) -> pd.Series:
    """Vintages as text, alike whether they come from a parser (dates, names) or from DuckDB
    (timestamps): ``2026-04-08`` either way."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.strftime("%Y-%m-%d")
    return values.map(lambda value: value.strftime("%Y-%m-%d") if hasattr(value, "strftime") else str(value))



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


# ------------------------------------------------------------------ head counts, per dataset

_COUNT_COLUMNS = ["country_iso3", "year", "vintage", "series", "value"]


def _counts(frame: pd.DataFrame, country: str, year: str, value: str, label: Callable[[str], str]) -> pd.DataFrame:
    if frame.empty:
        return pd.DataFrame({column: pd.Series(dtype="object") for column in _COUNT_COLUMNS})
    grouped = frame.groupby([country, year, "vintage"], as_index=False)[value].sum()
    grouped.columns = ["country_iso3", "year", "vintage", "value"]
    return grouped.assign(series=grouped["country_iso3"].map(label), vintage=vintage_text(grouped["vintage"]))[_COUNT_COLUMNS]


def labour_force_counts(incoming: pd.DataFrame, worldbank: pd.DataFrame) -> pd.DataFrame:
    rows = incoming[incoming["indicator_id"] == LABOUR_FORCE]
    return _counts(rows, "country_iso3", "year", "value", lambda iso3: f"{iso3} {LABOUR_FORCE}")


def employment_counts(incoming: pd.DataFrame, worldbank: pd.DataFrame) -> pd.DataFrame:
    """Employed persons as the warehouse derives them (labour force x (1 - unemployment/100)), from
    the newest vintages once this release is loaded, for the country-years the release touches."""
    touched = incoming[incoming["indicator_id"].isin([LABOUR_FORCE, UNEMPLOYMENT_RATE])][["country_iso3", "year"]].drop_duplicates()
    both = newest_values(worldbank, LABOUR_FORCE).merge(
        newest_values(worldbank, UNEMPLOYMENT_RATE), on=["country_iso3", "year"], suffixes=("_labour", "_unemployment"))
    both = both.merge(touched, on=["country_iso3", "year"])
    employed = both.assign(value=both["value_labour"] * (1 - both["value_unemployment"] / 100), vintage="newest of each")
    return _counts(employed, "country_iso3", "year", "value",
                   lambda iso3: f"{iso3} employed ({LABOUR_FORCE} x (1 - {UNEMPLOYMENT_RATE}/100))")


def encounter_counts(incoming: pd.DataFrame, worldbank: pd.DataFrame) -> pd.DataFrame:
    return _counts(incoming, "citizenship_code", "fiscal_year", "encounters",
                   lambda iso3: f"{iso3} Border Patrol encounters (all regions)")


def niv_counts(incoming: pd.DataFrame, worldbank: pd.DataFrame) -> pd.DataFrame:
    totals = incoming.drop_duplicates(["country_iso3", "nationality", "fiscal_year", "vintage"])
    return _counts(totals, "country_iso3", "fiscal_year", "nationality_grand_total",
                   lambda iso3: f"{iso3} nonimmigrant visas (Grand Total)")


def iv_counts(incoming: pd.DataFrame, worldbank: pd.DataFrame) -> pd.DataFrame:
    return _counts(incoming, "country_iso3", "fiscal_year", "total", lambda iso3: f"{iso3} immigrant visas (Total)")


# ------------------------------------------------------------------ the rules

REVISION_FACTOR = 2.0

REVISION_RULES: tuple[RevisionRule, ...] = (
    RevisionRule("worldbank_indicator_values", ("country_iso3", "indicator_id"), "year", "value",
                 factor=REVISION_FACTOR, floor=1.0,
                 why="WDI revisions between releases in the snapshot stay within 9% (homicide rates, UNODC); "
                     "a value that halves or doubles is a unit or scaling error until someone declares otherwise"),
    RevisionRule("foreign_assistance_country_summary", ("country_iso3", "transaction_type_name"), "fiscal_year",
                 "current_amount", factor=REVISION_FACTOR, floor=1_000_000, partial="is_partial_year",
                 why="complete fiscal years move by under 2% between the April and November 2025 Country Summary "
                     "releases; partial years grow several-fold as agencies report, so they are not compared"),
    RevisionRule("cbp_ohss_encounters_annual", ("citizenship_code", "region"), "fiscal_year", "encounters",
                 factor=REVISION_FACTOR, floor=1_000, partial="is_partial_year", ordered_by_loading=True,
                 why="every OHSS release restates complete fiscal years (rounded to 10)"),
    RevisionRule("state_dept_niv_issuances", ("country_iso3", "visa_class"), "fiscal_year", "issuances",
                 factor=REVISION_FACTOR, floor=1_000, ordered_by_loading=True,
                 why="each NIV Detail Table release restates past fiscal years"),
    RevisionRule("state_dept_iv_issuances", ("country_iso3",), "fiscal_year", "total",
                 factor=REVISION_FACTOR, floor=1_000, ordered_by_loading=True,
                 why="a republished Table III restates its fiscal year"),
)

CEILING_RULES: tuple[CeilingRule, ...] = (
    CeilingRule("labour_force_within_population", "worldbank_indicator_values", labour_force_counts, population,
                POPULATION, why="a labour force cannot exceed the population"),
    CeilingRule("employment_within_employment_ratio", "worldbank_indicator_values", employment_counts,
                employment_ratio_ceiling, f"{EMPLOYMENT_RATIO} x {POPULATION}",
                why="employed persons cannot exceed what the employment-to-population ratio allows"),
    CeilingRule("encounters_within_population", "cbp_ohss_encounters_annual", encounter_counts, population,
                POPULATION, why="encounters of a country's citizens in a year cannot exceed its population"),
    CeilingRule("nonimmigrant_visas_within_population", "state_dept_niv_issuances", niv_counts, population,
                POPULATION, why="visas issued to a nationality in a year cannot exceed its population"),
    CeilingRule("immigrant_visas_within_population", "state_dept_iv_issuances", iv_counts, population,
                POPULATION, why="visas issued to a nationality in a year cannot exceed its population"),
)


# ------------------------------------------------------------------ comparison (pure)


def year_ranges(years) -> str:
    """``[2000, 2001, 2002, 2005]`` -> ``"2000-2002, 2005"``."""
    ordered = sorted({int(year) for year in years})
    ranges, start = [], None
    for index, year in enumerate(ordered):
        if start is None:
            start = year
        if index + 1 == len(ordered) or ordered[index + 1] != year + 1:
            ranges.append(str(start) if start == year else f"{start}-{year}")
            start = None
    return ", ".join(ranges)


def _series_label(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.Series:
    if frame.empty:
        return pd.Series(index=frame.index, dtype="object")
    first, *rest = (frame[column].astype(str) for column in columns)
    return first.str.cat(rest, sep=" ") if rest else first


def adjacent_releases(incoming: pd.DataFrame, history: pd.DataFrame, rule: RevisionRule) -> pd.DataFrame:
    """For each release of each series in ``incoming``: the release it is compared with
    (series label, vintage, compared_with). The previous release in order, else the next one."""
    incoming_releases = incoming.assign(label=_series_label(incoming, rule.series), vintage=vintage_text(incoming[rule.vintage]))
    incoming_releases = incoming_releases[["label", "vintage"]].drop_duplicates()
    history_releases = history.assign(label=_series_label(history, rule.series), vintage=vintage_text(history[rule.vintage]))
    if rule.ordered_by_loading:
        history_releases = history_releases.groupby(["label", "vintage"], as_index=False)["loaded_at"].min()
        history_releases = history_releases.sort_values("loaded_at").assign(order=lambda f: range(len(f)))
        incoming_releases = incoming_releases.sort_values("vintage").assign(order=lambda f: range(len(history_releases), len(history_releases) + len(f)))
    else:
        history_releases = history_releases[["label", "vintage"]].drop_duplicates().assign(order=lambda f: f["vintage"])
        incoming_releases = incoming_releases.assign(order=incoming_releases["vintage"])
    # a release being loaded again takes its place as incoming
    history_releases = history_releases.merge(incoming_releases[["label", "vintage"]], how="left", indicator=True)
    history_releases = history_releases[history_releases["_merge"] == "left_only"][["label", "vintage", "order"]]
    releases = pd.concat([history_releases.assign(incoming=False), incoming_releases.assign(incoming=True)], ignore_index=True)
    releases = releases.sort_values(["label", "order"], kind="stable")
    by_series = releases.groupby("label")["vintage"]
    releases["previous"] = by_series.shift(1)
    releases["next"] = by_series.shift(-1)
    releases["compared_with"] = releases["previous"].fillna(releases["next"])
    chosen = releases[releases["incoming"] & releases["compared_with"].notna()]
    return chosen[["label", "vintage", "compared_with"]].reset_index(drop=True)


def revision_pairs(incoming: pd.DataFrame, history: pd.DataFrame, rule: RevisionRule) -> pd.DataFrame:
    """Each incoming value beside the same series and year in the release it is compared with:
    label, vintage, compared_with, year, value, reference_value, implausible."""
    pairs = adjacent_releases(incoming, history, rule)
    if pairs.empty:
        return pd.DataFrame(columns=["label", "vintage", "compared_with", "year", "value", "reference_value", "implausible"])

    def values(frame: pd.DataFrame, vintage_name: str) -> pd.DataFrame:
        out = pd.DataFrame({"label": _series_label(frame, rule.series), vintage_name: vintage_text(frame[rule.vintage]),
                            "year": frame[rule.year].astype("int64"), "value": frame[rule.value].astype("float64"),
                            "partial": frame[rule.partial].astype(bool) if rule.partial else False})
        return out.drop_duplicates()

    new = values(incoming, "vintage").merge(pairs, on=["label", "vintage"])
    old = pd.concat([values(incoming, "compared_with"), values(history, "compared_with")], ignore_index=True)
    old = old.rename(columns={"value": "reference_value", "partial": "reference_partial"})
    compared = new.merge(old, on=["label", "compared_with", "year"]).drop_duplicates(["label", "vintage", "compared_with", "year"])
    compared = compared[~compared["partial"] & ~compared["reference_partial"]]
    compared = compared[(compared["value"].abs() >= rule.floor) | (compared["reference_value"].abs() >= rule.floor)]
    ratio = compared["value"] / compared["reference_value"].where(compared["reference_value"] != 0)
    compared = compared.assign(implausible=~ratio.between(1 / rule.factor, rule.factor))
    return compared[["label", "vintage", "compared_with", "year", "value", "reference_value", "implausible"]].reset_index(drop=True)


def ceiling_pairs(counts: pd.DataFrame, ceilings: pd.DataFrame) -> pd.DataFrame:
    """Each count beside the ceiling of its country at the nearest year with one:
    label, vintage, year, value, reference_value, implausible."""
    columns = ["label", "vintage", "year", "value", "reference_value", "implausible"]
    counts = counts.dropna(subset=["value"])
    ceilings = ceilings.dropna(subset=["ceiling"])
    if counts.empty or ceilings.empty:
        return pd.DataFrame(columns=columns)
    counts = counts.astype({"year": "int64", "value": "float64"}).sort_values("year")
    ceilings = ceilings.astype({"year": "int64", "ceiling": "float64"}).rename(columns={"year": "ceiling_year"}).sort_values("ceiling_year")
    joined = pd.merge_asof(counts, ceilings, left_on="year", right_on="ceiling_year", by="country_iso3", direction="nearest")
    joined = joined.dropna(subset=["ceiling"])
    joined = joined.assign(label=joined["series"], reference_value=joined["ceiling"], implausible=joined["value"] > joined["ceiling"])
    return joined[columns].reset_index(drop=True)


def _number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"


def _example(row) -> str:
    ratio = row["value"] / row["reference_value"] if row["reference_value"] else float("inf")
    return f"{int(row['year'])}: {_number(row['value'])} against {_number(row['reference_value'])} (x{ratio:.4g})"


def summarise(pairs: pd.DataFrame, dataset: str, rule_name: str, compared_with: str | None,
              declared: pd.DataFrame) -> pd.DataFrame:
    """One check row per series and release: how many years were compared, which were implausible
    (less those a declared revision accepts), and the worst case as an example."""
    rows = []
    if pairs.empty:
        return pd.DataFrame(columns=CHECK_COLUMNS)
    accepted = declared[declared["dataset"] == dataset] if not declared.empty else declared
    group_keys = ["label", "vintage"] + (["compared_with"] if "compared_with" in pairs.columns else [])
    for keys, group in pairs.groupby(group_keys, sort=True):
        label, vintage = keys[0], keys[1]
        against = keys[2] if len(keys) > 2 else compared_with
        bad = group[group["implausible"]]
        declared_years = set()
        if not accepted.empty and not bad.empty:
            for declaration in accepted[(accepted["series"] == label) & (accepted["vintage"] == vintage)].itertuples():
                declared_years |= {year for year in bad["year"] if declaration.first_year <= year <= declaration.last_year}
        undeclared = bad[~bad["year"].isin(declared_years)]
        worst = undeclared if not undeclared.empty else bad
        example = ""
        if not worst.empty:
            distance = (worst["value"] / worst["reference_value"].where(worst["reference_value"] != 0)).abs()
            distance = distance.where(distance >= 1, 1 / distance).fillna(float("inf"))
            example = _example(worst.loc[distance.idxmax()])
        rows.append({"dataset": dataset, "rule": rule_name, "series": label, "vintage": vintage, "compared_with": against,
                     "years_compared": year_ranges(group["year"]), "implausible_years": year_ranges(undeclared["year"]),
                     "implausible_count": len(undeclared), "declared_years": year_ranges(declared_years), "example": example})
    return pd.DataFrame(rows, columns=CHECK_COLUMNS).astype({"implausible_count": "int64"})


def check_frame(frames: dict[str, pd.DataFrame], histories: dict[str, pd.DataFrame], worldbank_state: pd.DataFrame,
                declared: pd.DataFrame) -> pd.DataFrame:
    """The plausibility check frame of one load: one row per rule, series and release compared.

    ``frames``: the datasets about to be loaded; ``histories``: what raw already holds of the same
    series (per dataset, with ``loaded_at``); ``worldbank_state``: World Bank values this load and raw
    hold together, for the ceilings; ``declared``: the declared revisions."""
    parts = []
    for rule in REVISION_RULES:
        incoming = frames.get(rule.dataset)
        if incoming is None or incoming.empty:
            continue
        history = histories.get(rule.dataset, pd.DataFrame(columns=[*rule.columns, "loaded_at"]))
        parts.append(summarise(revision_pairs(incoming, history, rule), rule.dataset, "revision", None, declared))
    for rule in CEILING_RULES:
        incoming = frames.get(rule.dataset)
        if incoming is None or incoming.empty:
            continue
        pairs = ceiling_pairs(rule.counts(incoming, worldbank_state), rule.ceiling(worldbank_state))
        parts.append(summarise(pairs, rule.dataset, rule.name, rule.ceiling_name, declared))
    parts = [part for part in parts if not part.empty]
    if not parts:
        return pd.DataFrame(columns=CHECK_COLUMNS).astype({"implausible_count": "int64"})
    return pd.concat(parts, ignore_index=True)


def read_declared_revisions(path: Path = DECLARED_REVISIONS_PATH) -> pd.DataFrame:
    """The declared revisions: dataset, series, first_year, last_year, vintage, explanation."""
    with open(path, newline="", encoding="utf-8") as handle:
        rows = [{**row, "first_year": int(row["first_year"]), "last_year": int(row["last_year"])} for row in csv.DictReader(handle)]
    return pd.DataFrame(rows, columns=["dataset", "series", "first_year", "last_year", "vintage", "explanation"])
