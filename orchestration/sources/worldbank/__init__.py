"""World Bank World Development Indicators, through the API v2 JSON endpoint.

``fetch.py``: one request per indicator for every configured country, each page followed, into the
landing archive. ``parse.py``: the API pages -> one row per country, indicator, year and vintage
(the bundled snapshot holds the bulk CSVs converted once to the same JSON by
``scripts/build_snapshot.py``, so replay runs the same parser).
"""

from __future__ import annotations

import importlib

import pandas as pd

from orchestration.sources.contract import Cadence, RawDataset, SourceSetting, SourceSpec, first_input_year, reexport
from orchestration.fetch.limits import FetchLimits
from orchestration.sources.worldbank.plausibility import PLAUSIBILITY
from orchestration.fetch.archive import Landing
from orchestration.fetch.http import LiveFetcher

reexport(__name__, *(importlib.import_module(f"{__name__}.{part}") for part in ("parse", "fetch", "checks")))

from orchestration.sources.worldbank.checks import check_frames  # noqa: E402

from orchestration.sources.worldbank.fetch import fetch  # noqa: E402
from orchestration.sources.worldbank.parse import LICENCE, PAGING, SOURCE, SOURCE_ID, combine_vintages, parse_landing  # noqa: E402


def _fetch(fetcher: LiveFetcher, settings) -> dict:
    return fetch(fetcher, settings.worldbank_base_url, settings.countries, first_input_year(settings.first_year), settings.last_year)


def _parse(landings: list[Landing], settings) -> dict[str, pd.DataFrame]:
    first = first_input_year(settings.first_year)
    frames = [parse_landing(landing, settings.countries, first, settings.last_year) for landing in landings]
    return {"worldbank_indicator_values": combine_vintages(frames)}


SPEC = SourceSpec(
    name=SOURCE,
    source_id=SOURCE_ID,
    title="World Bank World Development Indicators (API v2)",
    licence=LICENCE,
    # WDI is updated several times a year; each series gets a new year about once a year
    cadence=Cadence("annual series, several database updates a year", warn_after_days=200, fail_after_days=400),
    base_url_setting="worldbank_base_url",
    settings=(
        SourceSetting("KPI_WORLDBANK_BASE_URL", "url", "https://api.worldbank.org/v2", "World Bank API (point a test or mirror here)"),
    ),
    datasets=(
        RawDataset(
            name="worldbank_indicator_values",
            replace_on=("country_iso3", "indicator_id", "vintage"),
            year_column="year",
            description="WDI values per country, indicator, year and vintage (the publisher's last-updated date), "
                        "from the input year before the first published year.",
        ),
    ),
    plausibility=PLAUSIBILITY,
    fetch=_fetch,
    # an API page of 1000 rows is about 0.3 MB; one answer per indicator: x10 headroom and more
    limits=FetchLimits.mib(response=16, body=32, landing=128),
    paging=PAGING,
    parse=_parse,
    check_frames=check_frames,
)
