"""What a transform rebuilds: the models downstream of the sources that changed since the live
publication, the models dbt's ``state:modified+`` finds changed in the dbt project, and the years of
the incremental facts that changed.

The years are not the run's partitions alone. A run that died after loading, a release loaded
whole by the daily run, a backfill whose transform never ran: every load since the publication is
pending, and the next transform covers all of their years, so no path leaves a fact stale. An
incremental fact the project changed (itself or upstream) rebuilds every year. No Dagster here:
the dbt asset and the tests (tests/engine.py) both use it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from orchestration.load.warehouse import LoadRecord


def incremental_range(pending: list[LoadRecord], run_range: tuple[int, int] | None, all_years: tuple[int, int],
                      every_year: bool = False) -> tuple[int, int] | None:
    """The (first, last) year the incremental facts rebuild, or None when nothing needs rebuilding.

    ``pending``: the loads since the live publication; ``run_range``: the run's partition range, if
    it has one; ``every_year``: the facts' own code or inputs changed (or nothing was published).
    """
    if every_year:
        return all_years
    ranges = [(load.first_year, load.last_year) for load in pending]
    if run_range is not None:
        ranges.append(run_range)
    if not ranges:
        return None
    return max(all_years[0], min(first for first, _ in ranges)), min(all_years[1], max(last for _, last in ranges))


def dbt_vars(years: tuple[int, int] | None) -> dict[str, int]:
    """dbt vars for the range; an empty range (first > last) when nothing needs rebuilding."""
    if years is None:
        return {"min_year": 1, "max_year": 0}
    return {"min_year": years[0], "max_year": years[1]}


# --- which models a build rebuilds -------------------------------------------------------------
#
# A day on which one source changed rebuilds that source's models and everything downstream of
# them (kpi_annual, kpi_revisions and kpi_scorecard union every source, so they always are), and
# dbt's eager indirect selection runs every test with a rebuilt parent (so each fact's
# agrees_with_kpi_annual runs whenever kpi_annual is rebuilt). Every other model keeps what the
# last build left: its inputs did not change, so a rebuild would write the same rows.

def changed_sources(pending: list[LoadRecord], every_source: set[str] | frozenset[str]) -> frozenset[str] | None:
    """The sources whose loads the live publication lacks, or None when every source changed (a full
    build or a backfill, which also rebuild the seeds and what only they feed)."""
    sources = frozenset(load.source for load in pending)
    return None if sources >= set(every_source) else sources


@dataclass(frozen=True)
class TransformPlan:
    """What one dbt build rebuilds. ``selection``: dbt's ``--select`` arguments, None for everything."""

    years: tuple[int, int] | None
    selection: list[str] | None
    reason: str


def plan_transform(published: bool, pending: list[LoadRecord], run_range: tuple[int, int] | None,
                   all_years: tuple[int, int], every_source: set[str] | frozenset[str],
                   modified: frozenset[str] | None, manifest: Mapping) -> TransformPlan:
    """The build after ``pending`` loads, for a project whose nodes ``modified`` (unique ids) changed
    since the builds the warehouse holds (``orchestration.transform.state``; None: not comparable,
    everything is rebuilt). ``manifest``: the project's manifest (a node's name and materialization)."""
    if not published or modified is None:
        why = "never published" if not published else "the dbt project cannot be compared with the builds the warehouse holds"
        return TransformPlan(all_years, None, f"every model, every year ({why})")
    nodes = manifest["nodes"]
    every_year = any(nodes[uid]["config"].get("materialized") == "incremental" for uid in modified if uid in nodes)
    years = incremental_range(pending, run_range, all_years, every_year)
    sources = changed_sources(pending, every_source)
    if sources is None or (not sources and not modified):
        why = "every source changed" if sources is None else "nothing pending: a transform asked for by hand"
        return TransformPlan(years, None, f"every model ({why})")
    names = sorted({nodes[uid]["name"] for uid in modified if uid in nodes})
    parts = ([f"those downstream of the source(s) that changed ({', '.join(sorted(sources))})"] if sources else []) + \
            ([f"{len(names)} node(s) the dbt project changed (state:modified+)"] if names else [])
    selection = [*(source_selection(sources)[1:] if sources else []), *names]
    return TransformPlan(years, ["--select", *selection], "models: " + " and ".join(parts)
                         + "; the others keep what the last build left (their code and inputs did not change)")


def source_selection(sources: Iterable[str]) -> list[str]:
    """dbt's ``--select`` for what a build for ``sources`` rebuilds: each source's tables and every
    node downstream of them, found by dbt's own graph selection (``source:<name>+``; a source's dbt
    source name is its SourceSpec name). Tests come along with dbt's eager indirect selection."""
    return ["--select", *(f"source:{name}+" for name in sorted(sources))]


def every_source_selector(source_names: Iterable[str]) -> str:
    """The dbt selector of the models downstream of every one of ``source_names`` (dbt's
    intersection, ``source:a+,source:b+,...``): those every build rebuilds, whichever source changed."""
    return ",".join([*(f"source:{name}+" for name in sorted(source_names)), "resource_type:model"])


def dbt_source_names(manifest: dict) -> set[str]:
    """The names of the project's dbt sources (each source's loads replace all of its tables at once)."""
    return {source["source_name"] for source in manifest["sources"].values()}
