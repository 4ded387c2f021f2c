"""What one load's plausibility check needs from raw: the other releases of the same series, and
the reference series (population) the ceilings compare with. The rules and the comparison are
``orchestration.check.plausibility``'s; this is the warehouse side."""

from __future__ import annotations

import pandas as pd

from orchestration.check.plausibility import (
    CEILING_RULES, CHECK_SUITE, EMPLOYMENT_RATIO, LABOUR_FORCE, POPULATION, REVISION_RULES, UNEMPLOYMENT_RATE,
    WORLDBANK_COLUMNS, WORLDBANK_TABLE, check_frame, read_declared_revisions, vintage_text,
)
from orchestration.load.engines import as_warehouse


def plausibility_check_frames(frames: dict[str, pd.DataFrame], warehouse) -> dict[str, pd.DataFrame]:
    """``{CHECK_SUITE: frame}`` for a load of ``frames``, with the other releases read from raw
    (``warehouse``: a ``warehouse.Warehouse``, or a DuckDB file's path)."""
    warehouse = as_warehouse(warehouse)
    histories = {}
    for rule in REVISION_RULES:
        incoming = frames.get(rule.dataset)
        if incoming is not None and not incoming.empty:
            histories[rule.dataset] = warehouse.raw_history(rule.dataset, rule.columns,
                                                            incoming[list(rule.series)].drop_duplicates())
    worldbank_state = _worldbank_state(frames, warehouse)
    return {CHECK_SUITE: check_frame(frames, histories, worldbank_state, read_declared_revisions())}


def _worldbank_state(frames: dict[str, pd.DataFrame], warehouse) -> pd.DataFrame:
    """The World Bank values the ceilings need: this load's (when it loads them) and raw's."""
    nothing_yet = pd.DataFrame(columns=WORLDBANK_COLUMNS)
    countries = set()
    for rule in CEILING_RULES:
        incoming = frames.get(rule.dataset)
        if incoming is not None and not incoming.empty:
            countries |= set(rule.counts(incoming, nothing_yet)["country_iso3"])
    if not countries:
        return pd.DataFrame(columns=WORLDBANK_COLUMNS)
    wanted = pd.DataFrame([(iso3, indicator) for iso3 in sorted(countries)
                           for indicator in (POPULATION, LABOUR_FORCE, UNEMPLOYMENT_RATE, EMPLOYMENT_RATIO)],
                          columns=["country_iso3", "indicator_id"])
    stored = warehouse.raw_history(WORLDBANK_TABLE, WORLDBANK_COLUMNS, wanted)[WORLDBANK_COLUMNS]
    incoming = frames.get(WORLDBANK_TABLE)
    parts = [part for part in (stored, incoming[WORLDBANK_COLUMNS] if incoming is not None else None) if part is not None and not part.empty]
    if not parts:
        return pd.DataFrame(columns=WORLDBANK_COLUMNS)
    every = pd.concat(parts, ignore_index=True).astype({"year": "int64", "value": "float64"})
    return every.assign(vintage=vintage_text(every["vintage"])).drop_duplicates()
