"""What a transform rebuilds: the models downstream of the sources that changed since the live
publication, and the years of the incremental facts that changed.

The years are not the run's partitions alone. A run that died after loading, a release loaded
whole by the daily run, a backfill whose transform never ran: every load since the publication is
pending, and the next transform covers all of their years, so no path leaves a fact stale. A
changed dbt project (models, seeds, macros) rebuilds every year and every model. No Dagster here:
the dbt asset and the tests (tests/engine.py) both use it.
"""

from __future__ import annotations

from collections.abc import Iterable

from orchestration.load.warehouse import LoadRecord


def project_changed(publication: dict | None, project_fingerprint: str) -> bool:
    """Whether the dbt project (models, seeds, macros) differs from the one that built the live
    publication (or nothing was published): then every model and every year is rebuilt."""
    return publication is None or publication.get("transform_fingerprint") != project_fingerprint


def incremental_range(publication: dict | None, pending: list[LoadRecord], run_range: tuple[int, int] | None,
                      project_fingerprint: str, all_years: tuple[int, int]) -> tuple[int, int] | None:
    """The (first, last) year the incremental facts rebuild, or None when nothing needs rebuilding.

    ``publication``: the live publication's record (None: never published); ``pending``: the loads
    since it; ``run_range``: the run's partition range, if it has one.
    """
    if project_changed(publication, project_fingerprint):
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

def changed_sources(publication: dict | None, pending: list[LoadRecord], project_fingerprint: str,
                    every_source: set[str] | frozenset[str]) -> frozenset[str] | None:
    """The sources whose loads the live publication lacks, or None when the whole project is built:
    never published, a changed dbt project, every source changed (a full build or a backfill, which
    also rebuild the seeds and what only they feed), or nothing pending (a transform asked for by hand)."""
    if project_changed(publication, project_fingerprint):
        return None
    sources = frozenset(load.source for load in pending)
    return None if not sources or sources >= set(every_source) else sources


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
