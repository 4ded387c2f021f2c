"""What one load's plausibility check reads from the warehouse: the other releases of the incoming
series, and the reference rows (e.g. population) its ceilings compare with. The rules are the
source's (``SourceSpec.plausibility``), the comparison ``orchestration.check.plausibility``'s; this is
the warehouse side, so the check sees what a live run has never parsed again."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from orchestration.check.plausibility import (
    CHECK_SUITE, Plausibility, Reference, RevisionRule, check_frame, read_declared_revisions, vintage_text,
)
from orchestration.load.engines import as_warehouse
from orchestration.load.warehouse import Warehouse


def plausibility_check_frames(frames: dict[str, pd.DataFrame], warehouse: "Warehouse | Path",
                              rules: Plausibility, declared: pd.DataFrame | None = None) -> dict[str, pd.DataFrame]:
    """``{CHECK_SUITE: frame}`` for a load of ``frames`` under ``rules``, with the other releases read
    from raw (``warehouse``: a ``Warehouse``, or a DuckDB file's path)."""
    warehouse = as_warehouse(warehouse)

    def history(rule: RevisionRule, incoming: pd.DataFrame) -> pd.DataFrame:
        return warehouse.raw_history(rule.dataset, rule.columns, incoming[list(rule.series)].drop_duplicates())

    def reference_state(reference: Reference, countries: list[str]) -> pd.DataFrame:
        return reference_rows(reference, countries, frames.get(reference.dataset), warehouse)

    declared = read_declared_revisions() if declared is None else declared
    return {CHECK_SUITE: check_frame(frames, rules, history, reference_state, declared)}


def reference_rows(reference: Reference, countries: list[str], incoming: pd.DataFrame | None, warehouse: Warehouse) -> pd.DataFrame:
    """The reference rows a ceiling needs: this load's (when it loads the reference dataset) and raw's."""
    columns = list(reference.columns)
    if not countries:
        return reference.empty()
    stored = warehouse.raw_history(reference.dataset, columns, reference.keys(countries))[columns]
    parts = [part for part in (stored, incoming[columns] if incoming is not None else None) if part is not None and not part.empty]
    if not parts:
        return reference.empty()
    every = pd.concat(parts, ignore_index=True).astype({"year": "int64", "value": "float64"})
    return every.assign(vintage=vintage_text(every["vintage"])).drop_duplicates()
