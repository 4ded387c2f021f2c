"""Which years the incremental facts rebuild: everything that changed since the live publication.

The years are not the run's partitions alone. A run that died after loading, a release loaded
whole by the daily run, a backfill whose transform never ran: every load since the publication is
pending, and the next transform covers all of their years, so no path leaves a fact stale. A
changed dbt project (models, seeds, macros) rebuilds every year. No Dagster here: the dbt asset
and the tests both use it.
"""

from __future__ import annotations

from orchestration.warehouse import LoadRecord


def incremental_range(publication: dict | None, pending: list[LoadRecord], run_range: tuple[int, int] | None,
                      project_fingerprint: str, all_years: tuple[int, int]) -> tuple[int, int] | None:
    """The (first, last) year the incremental facts rebuild, or None when nothing needs rebuilding.

    ``publication``: the live publication's record (None: never published); ``pending``: the loads
    since it; ``run_range``: the run's partition range, if it has one.
    """
    if publication is None or publication.get("transform_fingerprint") != project_fingerprint:
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
