"""What a source module declares, so one asset factory can fetch, parse, validate and load it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

import pandas as pd

if TYPE_CHECKING:
    from orchestration.settings import Settings
    from orchestration.transport import Landing, LiveFetcher


@dataclass(frozen=True)
class RawDataset:
    """A raw table ``raw.<name>``, validated by ``expectations/<name>.json``.

    ``replace_on``: a load of a range of years replaces every row of those years whose values in
    these columns occur in the load (e.g. country, indicator and vintage), so loading the same data
    twice leaves the same rows and other vintages stay as history.
    """

    name: str
    replace_on: tuple[str, ...]
    description: str
    # the partition column (data year, or fiscal year for US sources); None: not partitioned by year
    year_column: str | None = "fiscal_year"


@dataclass(frozen=True)
class SourceSpec:
    name: str  # landing directory name, e.g. "worldbank"
    source_id: str  # stable id carried into the marts' source_id column
    title: str
    licence: str
    base_url_setting: str  # attribute of Settings holding the source's base URL
    datasets: tuple[RawDataset, ...]
    fetch: Callable[["LiveFetcher", "Settings"], dict]
    parse: Callable[[list["Landing"], "Settings"], dict[str, pd.DataFrame]]
    # extra frames to validate beside the loads (reconciliations such as "classes sum to the total"),
    # keyed by suite name; they are validated, never loaded. ``check_suites`` names them up front so
    # each becomes a Dagster asset check.
    check_frames: Callable[[dict[str, pd.DataFrame]], dict[str, pd.DataFrame]] = field(default=lambda frames: {})
    check_suites: tuple[str, ...] = ()
