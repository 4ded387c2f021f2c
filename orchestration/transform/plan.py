"""What a transform rebuilds: the models downstream of the sources that changed since the live
publication, and the years of the incremental facts that changed.

The years are not the run's partitions alone. A run that died after loading, a release loaded
whole by the daily run, a backfill whose transform never ran: every load since the publication is
pending, and the next transform covers all of their years, so no path leaves a fact stale. A
changed dbt project (models, seeds, macros) rebuilds every year and every model. No Dagster here:
the dbt asset and the tests (tests/engine.py) both use it.
"""

from __future__ import annotations

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


def downstream_of_tables(manifest: dict, tables: set[str] | frozenset[str]) -> list[str]:
    """The unique ids of the dbt sources reading ``tables`` (raw table names) and of every model,
    seed or snapshot downstream of them, in the manifest's order (tests are left to dbt's indirect
    selection)."""
    starts = [unique_id for unique_id, source in manifest["sources"].items() if source["name"] in tables]
    missing = set(tables) - {manifest["sources"][unique_id]["name"] for unique_id in starts}
    if missing:
        raise ValueError(f"no dbt source reads the raw table(s) {sorted(missing)}: declare them in the source's YAML")
    selected, stack = set(starts), list(starts)
    while stack:
        for child in manifest["child_map"].get(stack.pop(), ()):
            node = manifest["nodes"].get(child)
            if child not in selected and node is not None and node["resource_type"] in ("model", "seed", "snapshot"):
                selected.add(child)
                stack.append(child)
    ordered = [*manifest["sources"], *manifest["nodes"]]
    return [unique_id for unique_id in ordered if unique_id in selected]


def nodes_to_rebuild(manifest: dict, sources: frozenset[str] | None, specs) -> list[str] | None:
    """The dbt sources and nodes downstream of the raw tables of ``sources`` (names of SourceSpecs
    among ``specs``); None (everything) when ``sources`` is None."""
    if sources is None:
        return None
    return downstream_of_tables(manifest, {dataset.name for spec in specs if spec.name in sources for dataset in spec.datasets})


def dbt_select_args(manifest: dict, unique_ids: list[str]) -> list[str]:
    """``--select`` arguments naming exactly these sources and nodes (by fully qualified name)."""
    selectors = []
    for unique_id in unique_ids:
        if unique_id in manifest["sources"]:
            source = manifest["sources"][unique_id]
            selectors.append(f"source:{source['source_name']}.{source['name']}")
        else:
            selectors.append("fqn:" + ".".join(manifest["nodes"][unique_id]["fqn"]))
    return ["--select", *selectors]


def rebuilt_by_every_build(manifest: dict) -> list[str]:
    """The models every build rebuilds, whichever source changed (those downstream of every raw
    table, such as kpi_annual): publishing depends on these, since Dagster skips a step when an
    output it depends on was not produced, and a build for one source produces only its models."""
    tables_by_source: dict[str, set[str]] = {}
    for source in manifest["sources"].values():  # a source's loads replace all of its tables at once
        tables_by_source.setdefault(source["source_name"], set()).add(source["name"])
    common: set[str] | None = None
    for tables in tables_by_source.values():
        models = {unique_id for unique_id in downstream_of_tables(manifest, tables) if unique_id.startswith("model.")}
        common = models if common is None else common & models
    return [unique_id for unique_id in manifest["nodes"] if unique_id in (common or set())]
