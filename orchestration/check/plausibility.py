"""Plausibility of a release before it is loaded: against the previous release of the same series,
and against a reference series (population) from another source.

Suites check a release on its own (types, ranges, totals that add up). What they cannot see is a
release that is internally consistent but wrong by a factor: labour force and population both
multiplied by 1000 (3.8 billion employed Hondurans), a count that jumps tenfold from one release to
the next, a paged answer that silently lost most of its rows. Raw tables keep every vintage and the
marts use the newest, so such a release, once loaded with a newer date, would stay "newest". It is
never loaded: every source declares its rules in its SPEC (``Plausibility``: which series, which
revision bound, which ceilings, and why a dataset has none), this module turns them into one check
frame per load (``check_frame``), and ``expectations/suites/plausibility_check.json`` validates it like any
other suite; a failure names the dataset, the series, the release, the years, both values and the
landing the release came from.

Two kinds of rule:

* ``RevisionRule``: a series' total for a year (the value column summed over the rows of the series,
  e.g. refugees of one origin over every country of asylum) may differ from the same series and year
  in the adjacent release (the previous one; the next one when the release is the oldest) by at most
  ``factor``, either way. Years partial in either release and values below ``floor`` in both are not
  compared (small counts and first estimates move a lot). A live run parses only the new landing, so
  the other releases come from the raw tables (``orchestration.load.plausibility_inputs``); a replay
  parses every landing and compares them with each other and with what raw holds.
* ``CeilingRule``: a head count may not exceed a ceiling computed from a ``Reference`` (rows of another
  raw dataset, e.g. World Bank population), for the same country and the nearest year.

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
                 "implausible_count", "declared_years", "example", "evidence"]

REVISION_FACTOR = 2.0


@dataclass(frozen=True)
class RevisionRule:
    """Values of ``dataset`` may move by at most ``factor`` between adjacent releases of a series."""

    dataset: str
    series: tuple[str, ...]
    year: str
    value: str
    floor: float
    why: str
    factor: float = REVISION_FACTOR
    partial: str | None = None
    # releases named rather than dated (a file name, a title): the one loaded before is the previous
    ordered_by_loading: bool = False
    vintage: str = "vintage"
    # the check frame's rule name: a dataset with several revision rules (one per value column) names each
    name: str = "revision"

    @property
    def columns(self) -> list[str]:
        return [*self.series, self.year, self.value, self.vintage, *([self.partial] if self.partial else [])]


@dataclass(frozen=True)
class Reference:
    """Rows of a raw dataset a ceiling reads (e.g. World Bank population): ``keys(countries)`` gives the
    key rows to read (a frame over some of ``columns``), for the countries a load touches. The rows
    carry ``year``, ``value`` and ``vintage`` among their columns."""

    dataset: str
    columns: tuple[str, ...]
    keys: Callable[[list[str]], pd.DataFrame]

    def empty(self) -> pd.DataFrame:
        return pd.DataFrame(columns=list(self.columns))


@dataclass(frozen=True)
class CeilingRule:
    """Head counts of ``dataset`` (``counts``: country_iso3, year, vintage, series, value) may not
    exceed ``ceiling`` (country_iso3, year, ceiling) for the same country, at the nearest year."""

    name: str
    dataset: str
    counts: Callable[[pd.DataFrame, pd.DataFrame], pd.DataFrame]  # (incoming rows, reference state)
    ceiling: Callable[[pd.DataFrame], pd.DataFrame]  # reference state -> country_iso3, year, ceiling
    ceiling_name: str
    why: str
    reference: Reference


@dataclass(frozen=True)
class Plausibility:
    """What a source declares: revision rules over its numeric series, ceilings, and for each dataset
    without a revision rule, why (``not_compared``: dataset -> reason, e.g. a list of names)."""

    revisions: tuple[RevisionRule, ...]
    ceilings: tuple[CeilingRule, ...] = ()
    not_compared: tuple[tuple[str, str], ...] = ()

    def problems(self, datasets: list[str]) -> list[str]:
        """What is wrong with this declaration for a source whose raw datasets are ``datasets``."""
        found = []
        ruled = {rule.dataset for rule in self.revisions}
        exempt = dict(self.not_compared)
        for dataset in datasets:
            if dataset not in ruled and not exempt.get(dataset, "").strip():
                found.append(f"{dataset} has no revision rule and no reason in not_compared")
        for rule in (*self.revisions, *self.ceilings):
            if rule.dataset not in datasets:
                found.append(f"a rule names {rule.dataset}, which is not one of the source's datasets")
        names = [(rule.dataset, rule.name) for rule in (*self.revisions, *self.ceilings)]
        found += [f"{dataset}: two rules named {name!r}" for dataset, name in sorted(set(names)) if names.count((dataset, name)) > 1]
        return found


# ------------------------------------------------------------------ helpers for what sources declare


def vintage_text(values: pd.Series) -> pd.Series:
    """Vintages as text, alike whether they come from a parser (dates, names) or from DuckDB
    (timestamps): ``2026-04-08`` either way."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.strftime("%Y-%m-%d")
    return values.map(lambda value: value.strftime("%Y-%m-%d") if hasattr(value, "strftime") else str(value))



_COUNT_COLUMNS = ["country_iso3", "year", "vintage", "series", "value"]


def counts_per_country(frame: pd.DataFrame, country: str, year: str, value: str, label: Callable[[str], str]) -> pd.DataFrame:
    """Head counts for a ceiling: ``value`` summed per country, year and vintage, labelled per country."""
    if frame.empty:
        return pd.DataFrame({column: pd.Series(dtype="object") for column in _COUNT_COLUMNS})
    grouped = frame.groupby([country, year, "vintage"], as_index=False)[value].sum()
    grouped.columns = ["country_iso3", "year", "vintage", "value"]
    return grouped.assign(series=grouped["country_iso3"].map(label), vintage=vintage_text(grouped["vintage"]))[_COUNT_COLUMNS]


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
        # the series' total per year and release: a series spread over rows (an origin's refugees in every
        # country of asylum, a year's months) is compared whole, so rows that went missing show
        out = pd.DataFrame({"label": _series_label(frame, rule.series), vintage_name: vintage_text(frame[rule.vintage]),
                            "year": frame[rule.year].astype("int64"), "value": frame[rule.value].astype("float64"),
                            "partial": frame[rule.partial].astype(bool) if rule.partial else False})
        return out.groupby(["label", vintage_name, "year"], as_index=False).agg(value=("value", "sum"), partial=("partial", "any"))

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
        # the newest year first, so that among equally far values the example is the newest
        worst = (undeclared if not undeclared.empty else bad).sort_values("year", ascending=False)
        example = ""
        if not worst.empty:
            distance = (worst["value"] / worst["reference_value"].where(worst["reference_value"] != 0)).abs()
            distance = distance.where(distance >= 1, 1 / distance).fillna(float("inf"))
            example = _example(worst.loc[distance.idxmax()])
        rows.append({"dataset": dataset, "rule": rule_name, "series": label, "vintage": vintage, "compared_with": against,
                     "years_compared": year_ranges(group["year"]), "implausible_years": year_ranges(undeclared["year"]),
                     "implausible_count": len(undeclared), "declared_years": year_ranges(declared_years), "example": example,
                     "evidence": ""})
    return pd.DataFrame(rows, columns=CHECK_COLUMNS).astype({"implausible_count": "int64"})


def release_evidence(incoming: pd.DataFrame, vintage_column: str) -> dict[str, str]:
    """Per release (vintage as text): the landings and URLs its rows were parsed from, so a refusal
    names the files to open (``<landing>/<source>/<fetch_id>/``)."""
    if incoming.empty or not {"fetch_id", "source_url"} <= set(incoming.columns):
        return {}
    files = incoming.assign(release=vintage_text(incoming[vintage_column]))[["release", "fetch_id", "source_url"]].drop_duplicates()
    return {release: "; ".join(f"landing {row.fetch_id}: {row.source_url}" for row in group.sort_values(["fetch_id", "source_url"]).itertuples())
            for release, group in files.groupby("release")}


def with_evidence(summary: pd.DataFrame, incoming: pd.DataFrame, vintage_column: str) -> pd.DataFrame:
    if summary.empty:
        return summary
    evidence = release_evidence(incoming, vintage_column)
    return summary.assign(evidence=summary["vintage"].map(evidence).fillna(""))


def check_frame(frames: dict[str, pd.DataFrame], rules: Plausibility, history: Callable[[RevisionRule, pd.DataFrame], pd.DataFrame],
                reference_state: Callable[[Reference, list[str]], pd.DataFrame], declared: pd.DataFrame) -> pd.DataFrame:
    """The plausibility check frame of one load: one row per rule, series and release compared.

    ``frames``: the datasets about to be loaded; ``rules``: what their source declares;
    ``history(rule, incoming)``: what raw already holds of the incoming series (with ``loaded_at``);
    ``reference_state(reference, countries)``: the reference rows (this load's and raw's) for those
    countries; ``declared``: the declared revisions."""
    parts = []
    for rule in rules.revisions:
        incoming = frames.get(rule.dataset)
        if incoming is None or incoming.empty:
            continue
        pairs = revision_pairs(incoming, history(rule, incoming), rule)
        parts.append(with_evidence(summarise(pairs, rule.dataset, rule.name, None, declared), incoming, rule.vintage))
    for rule in rules.ceilings:
        incoming = frames.get(rule.dataset)
        if incoming is None or incoming.empty:
            continue
        countries = sorted(set(rule.counts(incoming, rule.reference.empty())["country_iso3"]))
        state = reference_state(rule.reference, countries)
        pairs = ceiling_pairs(rule.counts(incoming, state), rule.ceiling(state))
        parts.append(with_evidence(summarise(pairs, rule.dataset, rule.name, rule.ceiling_name, declared), incoming, "vintage"))
    parts = [part for part in parts if not part.empty]
    if not parts:
        return pd.DataFrame(columns=CHECK_COLUMNS).astype({"implausible_count": "int64"})
    return pd.concat(parts, ignore_index=True)


def read_declared_revisions(path: Path = DECLARED_REVISIONS_PATH) -> pd.DataFrame:
    """The declared revisions: dataset, series, first_year, last_year, vintage, explanation."""
    with open(path, newline="", encoding="utf-8") as handle:
        rows = [{**row, "first_year": int(row["first_year"]), "last_year": int(row["last_year"])} for row in csv.DictReader(handle)]
    return pd.DataFrame(rows, columns=["dataset", "series", "first_year", "last_year", "vintage", "explanation"])
