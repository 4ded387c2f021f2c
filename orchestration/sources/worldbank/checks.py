"""World Bank reconciliations: none at this layer.

An API page carries no totals to add up, so the one suite (expectations/suites/
worldbank_indicator_values.json) checks the values themselves; agreement between vintages and with
other sources (population beside the count KPIs) is a dbt test, where both sides are visible.
"""

from __future__ import annotations

import pandas as pd


def check_frames(frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    return {}
