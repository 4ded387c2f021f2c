"""UNHCR reconciliation, validated by its own suite and never loaded: an asylum decision row's
recognised + other + rejected + closed against its published total. UNHCR rounds small cells (to
5), and a few published totals differ otherwise (MEX -> USA 2000, immigration courts: 5,092
against components of 5,044), so the suite tolerates a small share of rows beyond the rounding;
many rows failing means columns were read shifted."""

from __future__ import annotations

import pandas as pd

from orchestration.sources.unhcr.parse import DECISIONS

CHECK_DECISION_TOTALS = "unhcr_check_decision_totals"
_COMPONENTS = ["dec_recognized", "dec_other", "dec_rejected", "dec_closed"]


def decision_totals(decisions: pd.DataFrame) -> pd.DataFrame:
    keys = ["vintage", "year", "origin_iso3", "asylum_iso3", "procedure_type", "authority_level", "count_unit"]
    frame = decisions[[*keys, "dec_total"]].copy()
    frame["components_sum"] = decisions[_COMPONENTS].fillna(0).sum(axis=1).astype("Int64")
    frame["difference"] = (frame["dec_total"] - frame["components_sum"]).astype("Int64")
    frame["abs_difference"] = frame["difference"].abs()
    frame["rounding_tolerance"] = 5 * len(_COMPONENTS)
    return frame.rename(columns={"dec_total": "published_total"}).reset_index(drop=True)


def check_frames(frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    return {CHECK_DECISION_TOTALS: decision_totals(frames[DECISIONS])}
