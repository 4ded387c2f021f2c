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

    ``replace_on``: a load replaces every row whose values in these columns occur in the load
    (e.g. country, indicator and vintage), so loading the same data twice leaves the same rows.
    """

    name: str
    replace_on: tuple[str, ...]
    description: str


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
