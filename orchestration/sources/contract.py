"""What a source package declares, so one asset factory can fetch, parse, validate and load it.

A source is one package ``orchestration/sources/<name>/``: ``__init__.py`` holds its ``SPEC`` (ids,
licence, cadence, the settings it reads, its raw datasets and suites), ``fetch.py`` the live
client (publisher URLs -> landing archive), ``parse.py`` landed bytes -> DataFrames, ``checks.py``
the reconciliation frames its suites validate. ``orchestration.sources.discover`` finds every
package; nothing else names them.
"""

from __future__ import annotations

import datetime as dt
import sys
import types
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

import pandas as pd

from orchestration.check.plausibility import Plausibility
from orchestration.core.settings import SourceSetting  # noqa: F401  (what a source declares)
from orchestration.fetch.limits import FetchLimits, effective_limits
from orchestration.fetch.paging import PagingContract

if TYPE_CHECKING:
    import dagster as dg

    from orchestration.core.settings import Settings
    from orchestration.fetch.archive import Landing
    from orchestration.fetch.http import LiveFetcher


@dataclass(frozen=True)
class RawDataset:
    """A raw table ``raw.<name>``, validated by ``expectations/suites/<name>.json`` (its checkpoint beside it).

    ``replace_on``: a load of a range of years replaces every row of those years whose values in
    these columns occur in the load (e.g. country, indicator and vintage), so loading the same data
    twice leaves the same rows and other vintages stay as history.
    """

    name: str
    replace_on: tuple[str, ...]
    description: str
    # the partition column (data year, or fiscal year for US sources); None: not partitioned by year
    year_column: str | None = "fiscal_year"


# The year before the first published year is loaded too, as an input only: the first published
# year's changes (jobs created, year-on-year change) need it. The marts start at the first year.
INPUT_YEARS_BEFORE_FIRST = 1


def first_input_year(first_year: int) -> int:
    return first_year - INPUT_YEARS_BEFORE_FIRST


def with_input_year(years: tuple[int, int], first_year: int) -> tuple[int, int]:
    """The years a load of the partition range ``years`` covers: the first partition's load also
    covers the input year before it."""
    return (first_input_year(first_year), years[1]) if years[0] <= first_year else years


@dataclass(frozen=True)
class Cadence:
    """How often the publisher releases, and so how long its raw tables may go without a new load
    before Dagster shows them late (warn) or stale (fail)."""

    description: str
    warn_after_days: int
    fail_after_days: int

    def __post_init__(self):
        if not 0 < self.warn_after_days < self.fail_after_days:
            raise ValueError(f"cadence {self.description!r}: need 0 < warn_after_days < fail_after_days")


@dataclass(frozen=True, kw_only=True)
class SourceSpec:
    name: str  # package and landing directory name, e.g. "worldbank"
    source_id: str  # stable id carried into the marts' source_id column
    title: str
    licence: str
    cadence: Cadence
    base_url_setting: str  # attribute of Settings holding the source's base URL (one of ``settings``)
    datasets: tuple[RawDataset, ...]
    fetch: Callable[["LiveFetcher", "Settings"], dict]
    parse: Callable[[list["Landing"], "Settings"], dict[str, pd.DataFrame]]
    # how much of the publisher's answers a live fetch accepts (sized from the source's real files,
    # with headroom; KPI_FETCH_MAX_*_MB raise them): required, so no source fetches unbounded
    limits: FetchLimits
    # what the page header of a paged API states, checked by orchestration/fetch/paging.py (None: not paged)
    paging: PagingContract | None = None
    # the revision bounds and ceilings the generic plausibility check applies before any load
    plausibility: "Plausibility"
    settings: tuple[SourceSetting, ...] = ()
    # extra frames to validate beside the loads (reconciliations such as "classes sum to the total"),
    # keyed by suite name; they are validated, never loaded. ``check_suites`` names them up front so
    # each becomes a Dagster asset check.
    check_frames: Callable[[dict[str, pd.DataFrame]], dict[str, pd.DataFrame]] = field(default=lambda frames: {})
    check_suites: tuple[str, ...] = ()
    # values the suites' expectations read at validation time (``{"$PARAMETER": name}`` in a suite's
    # kwargs, e.g. a seed's list of known names), so a suite states its rule over the data and the
    # reference list stays in one place
    expectation_parameters: Callable[[], dict[str, object]] = field(default=lambda: {})

    @property
    def freshness_policy(self) -> "dg.FreshnessPolicy":
        import dagster as dg  # deferred: a source's parser is used without Dagster (scripts, tests)

        return dg.FreshnessPolicy.time_window(warn_window=dt.timedelta(days=self.cadence.warn_after_days),
                                              fail_window=dt.timedelta(days=self.cadence.fail_after_days))

    def fetch_limits(self, settings: "Settings") -> FetchLimits:
        """The declared limits, raised by the settings that raise them."""
        return effective_limits(self.limits, settings.fetch_max_response_mb, settings.fetch_max_body_mb,
                                settings.fetch_max_landing_mb)

    def __post_init__(self):
        if not isinstance(self.limits, FetchLimits):
            raise TypeError(f"source {self.name!r}: SPEC.limits must be a FetchLimits, not {self.limits!r}")

    def env_from(self, settings: "Settings") -> dict[str, str]:
        """This source's settings as the environment text a fetch function reads (validated values)."""
        env = {}
        for setting in self.settings:
            value = getattr(settings, setting.name)
            if value:
                env[setting.env] = ",".join(value) if isinstance(value, tuple) else str(value)
        return env


def reexport(package_name: str, *modules: types.ModuleType) -> None:
    """Make every public name of ``modules`` importable from the package ``package_name`` (so
    ``from orchestration.sources.worldbank import parse_landing`` keeps working), names of later
    modules winning."""
    package = sys.modules[package_name]
    for module in modules:
        for name, value in vars(module).items():
            if not name.startswith("_") and not isinstance(value, types.ModuleType):
                setattr(package, name, value)
