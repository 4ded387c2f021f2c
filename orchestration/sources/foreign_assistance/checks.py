"""ForeignAssistance.gov reconciliations: none at this layer.

The API's USG-sector rows and the Country Summary CSV are two files (and often two releases), so
their agreement is a dbt test after the load, where both are visible with the declared revisions
between releases (int_foreign_assistance__sector_sum_reconciliation and
tests/foreign_assistance/assert_us_assistance_sector_sums_match_country_summary.sql). Each file's
own rows are checked by its dataset's suite before the load.
"""

from __future__ import annotations

import pandas as pd


def latest_vintage(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """The rows of each key's latest vintage (the later release wins)."""
    latest = frame.groupby(keys)["vintage"].transform("max")
    return frame[frame["vintage"] == latest]


def check_frames(frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    return {}
