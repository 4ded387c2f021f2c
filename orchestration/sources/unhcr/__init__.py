"""UNHCR population statistics (Refugee Data Finder): refugees, asylum-seekers and IDPs by country
of origin, IDMC's IDP figures, and asylum applications and decisions in the USA.

``fetch.py``: every page of the API v1 endpoints per country of origin. ``parse.py``: the JSON
pages -> rows per origin, asylum country and year (the bundled snapshot holds the UNHCR
``refugees`` package data converted once to the same pages). ``checks.py``: decision totals
against their components.
"""

from __future__ import annotations

import importlib

import pandas as pd

from orchestration.sources.contract import Cadence, RawDataset, SourceSetting, SourceSpec, first_input_year, reexport
from orchestration.fetch.limits import FetchLimits
from orchestration.sources.unhcr.plausibility import PLAUSIBILITY
from orchestration.fetch.archive import Landing
from orchestration.fetch.http import LiveFetcher

reexport(__name__, *(importlib.import_module(f"{__name__}.{part}") for part in ("parse", "fetch", "checks")))

from orchestration.sources.unhcr.checks import CHECK_DECISION_TOTALS, check_frames  # noqa: E402
from orchestration.sources.unhcr.fetch import fetch  # noqa: E402
from orchestration.sources.unhcr.parse import (  # noqa: E402
    APPLICATIONS, DECISIONS, IDMC, LICENCE, PAGING, POPULATION, SOURCE, SOURCE_ID, parse_landings,
)


def _fetch(fetcher: LiveFetcher, settings) -> dict:
    return fetch(fetcher, settings.unhcr_base_url, settings.countries, first_input_year(settings.first_year), settings.last_year)


def _parse(landings: list[Landing], settings) -> dict[str, pd.DataFrame]:
    return parse_landings(landings, settings.countries, first_input_year(settings.first_year), settings.last_year)


SPEC = SourceSpec(
    name=SOURCE,
    source_id=SOURCE_ID,
    title="UNHCR population statistics (Refugee Data Finder, API v1)",
    licence=LICENCE,
    # end-year figures each June, a mid-year update each autumn
    cadence=Cadence("twice a year (end-year figures in June, mid-year figures in the autumn)",
                    warn_after_days=200, fail_after_days=400),
    base_url_setting="unhcr_base_url",
    settings=(
        SourceSetting("KPI_UNHCR_BASE_URL", "url", "https://api.unhcr.org/population/v1", "UNHCR population statistics API v1"),
    ),
    datasets=(
        RawDataset(
            name=POPULATION,
            replace_on=("origin_iso3", "vintage"),
            year_column="year",
            description="UNHCR end-year stocks per country of origin x country of asylum (refugees, asylum-seekers, "
                        "IDPs, ...), per vintage; small counts rounded by the publisher.",
        ),
        RawDataset(
            name=IDMC,
            replace_on=("origin_iso3", "vintage"),
            year_column="year",
            description="IDMC conflict and violence IDPs per country, as UNHCR republishes them, per vintage.",
        ),
        RawDataset(
            name=APPLICATIONS,
            replace_on=("origin_iso3", "vintage"),
            year_column="year",
            description="Asylum applications in the USA per origin, authority and year, in cases or persons as published.",
        ),
        RawDataset(
            name=DECISIONS,
            replace_on=("origin_iso3", "vintage"),
            year_column="year",
            description="Asylum decisions in the USA per origin, authority and year, in cases or persons as published.",
        ),
    ),
    plausibility=PLAUSIBILITY,
    fetch=_fetch,
    # an API page is at most 0.2 MB in the snapshot (1000 items about 0.3 MB); four endpoints per origin: x10 headroom and more
    limits=FetchLimits.mib(response=16, body=32, landing=256),
    paging=PAGING,
    parse=_parse,
    check_frames=check_frames,
    check_suites=(CHECK_DECISION_TOTALS,),
)
