"""DHS Office of Homeland Security Statistics: Immigration Enforcement and Legal Processes Monthly
Tables (removals, ICE removals and returns, credible-fear referrals by citizenship).

``fetch.py``: the newest release's workbook, linked from the OHSS tables page (or given by URL).
``parse.py``: the three tables -> monthly and fiscal-year counts per citizenship and release.
``checks.py``: months against the fiscal-year totals (within the publisher's rounding to 10), and
the partial ("YTD") year.
"""

from __future__ import annotations

import importlib

import pandas as pd

from orchestration.sources.contract import Cadence, RawDataset, SourceSetting, SourceSpec, reexport
from orchestration.fetch.limits import FetchLimits
from orchestration.sources.dhs_enforcement.plausibility import PLAUSIBILITY
from orchestration.fetch.archive import Landing
from orchestration.fetch.http import LiveFetcher

reexport(__name__, *(importlib.import_module(f"{__name__}.{part}") for part in ("parse", "fetch", "checks")))

from orchestration.sources.dhs_enforcement.checks import CHECK_MONTHS_VS_YEAR, CHECK_PARTIAL_YEAR, check_frames  # noqa: E402
from orchestration.sources.dhs_enforcement.fetch import fetch  # noqa: E402
from orchestration.sources.dhs_enforcement.parse import ANNUAL, LICENCE, MONTHLY, SOURCE, SOURCE_ID, parse_landings  # noqa: E402


def _fetch(fetcher: LiveFetcher, settings) -> dict:
    return fetch(fetcher, settings.dhs_enforcement_base_url, settings.dhs_enforcement_workbook_urls)


def _parse(landings: list[Landing], settings) -> dict[str, pd.DataFrame]:
    # the tables start in FY2014: there is no input year before them to load
    return parse_landings(landings, settings.countries, settings.first_year)


SPEC = SourceSpec(
    name=SOURCE,
    source_id=SOURCE_ID,
    title="DHS OHSS Immigration Enforcement and Legal Processes Monthly Tables",
    licence=LICENCE,
    # a release every month or two, each a couple of months after its data month
    cadence=Cadence("monthly (released with a lag of two to four months)", warn_after_days=75, fail_after_days=150),
    base_url_setting="dhs_enforcement_base_url",
    settings=(
        SourceSetting("KPI_DHS_ENFORCEMENT_BASE_URL", "url", "https://ohss.dhs.gov", "DHS OHSS site (the monthly tables page)"),
        SourceSetting("KPI_DHS_ENFORCEMENT_WORKBOOK_URLS", "url_list", None,
                      "workbook URLs, comma-separated (default: the newest linked on the tables page)"),
    ),
    datasets=(
        RawDataset(
            name=MONTHLY,
            replace_on=("citizenship_code", "vintage"),
            description="DHS removals, ICE removals and returns, and credible-fear referrals per fiscal month and "
                        "citizenship (rounded to 10 by the publisher), per release; the last fiscal year is partial.",
        ),
        RawDataset(
            name=ANNUAL,
            replace_on=("citizenship_code", "vintage"),
            description="The same per fiscal year, as the tables' fiscal-year Total rows publish it; the removals and "
                        "credible_fear_referrals KPIs' source.",
        ),
    ),
    plausibility=PLAUSIBILITY,
    fetch=_fetch,
    # a monthly tables workbook is 0.7 MB in the snapshot; several are fetched: x10 headroom and more
    limits=FetchLimits.mib(response=32, body=32, landing=256),
    parse=_parse,
    check_frames=check_frames,
    check_suites=(CHECK_MONTHS_VS_YEAR, CHECK_PARTIAL_YEAR),
)
