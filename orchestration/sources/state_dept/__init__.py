"""US State Department visa statistics: nonimmigrant (NIV) and immigrant (IV) visas issued.

``fetch.py``: the newest NIV Detail Table workbook and the Report of the Visa Office Table III
PDFs, found on the publisher's index pages (or given by URL). ``parse.py``: workbook sheets and
PDF text -> issuances per fiscal year, nationality and class. ``checks.py``: the published totals
the classes and categories must add up to, and the classes the seed must know.
"""

from __future__ import annotations

import importlib

import pandas as pd

from orchestration.sources.contract import Cadence, RawDataset, SourceSetting, SourceSpec, first_input_year, reexport
from orchestration.fetch.limits import FetchLimits
from orchestration.sources.state_dept.plausibility import PLAUSIBILITY
from orchestration.fetch.archive import Landing
from orchestration.fetch.http import LiveFetcher

reexport(__name__, *(importlib.import_module(f"{__name__}.{part}") for part in ("parse", "fetch", "checks")))

from orchestration.sources.state_dept.checks import CLASS_COVERAGE_CHECK, IV_TOTAL_CHECK, NIV_TOTAL_CHECK, check_frames  # noqa: E402
from orchestration.sources.state_dept.fetch import NIV_WORKBOOK_URL_ENV, TABLE_III_URLS_ENV, fetch  # noqa: E402
from orchestration.sources.state_dept.parse import IV_DATASET, LICENCE, NIV_DATASET, SOURCE, SOURCE_ID, parse_landings  # noqa: E402


def _fetch(fetcher: LiveFetcher, settings) -> dict:
    return fetch(fetcher, settings.state_dept_base_url, first_input_year(settings.first_year), env=SPEC.env_from(settings))


def _parse(landings: list[Landing], settings) -> dict[str, pd.DataFrame]:
    return parse_landings(landings, settings.countries, first_input_year(settings.first_year), settings.last_year)


SPEC = SourceSpec(
    name=SOURCE,
    source_id=SOURCE_ID,
    title="US State Department visa statistics (NIV Detail Table; Report of the Visa Office Table III)",
    licence=LICENCE,
    # one NIV workbook and one Report of the Visa Office a year, months after the fiscal year ends
    cadence=Cadence("annual (after each US fiscal year)", warn_after_days=200, fail_after_days=400),
    base_url_setting="state_dept_base_url",
    settings=(
        SourceSetting("KPI_STATE_DEPT_BASE_URL", "url", "https://travel.state.gov", "State Dept visa statistics"),
        SourceSetting(NIV_WORKBOOK_URL_ENV, "url", None, "the NIV Detail Table workbook's URL (default: the newest linked on the index page)"),
        SourceSetting(TABLE_III_URLS_ENV, "url_list", None, "Table III PDF URLs, comma-separated (default: those linked on the index page)"),
    ),
    datasets=(
        RawDataset(
            name=NIV_DATASET,
            replace_on=("country_iso3", "vintage"),
            description="Nonimmigrant visas issued per fiscal year, nationality and visa class as published in the NIV Detail Table, with the nationality's published Grand Total.",
        ),
        RawDataset(
            name=IV_DATASET,
            replace_on=("country_iso3", "vintage"),
            description="Immigrant visas issued per fiscal year and foreign state of chargeability, by category, from the Report of the Visa Office Table III.",
        ),
    ),
    plausibility=PLAUSIBILITY,
    fetch=_fetch,
    # the NIV workbook is 2.5 MB in the snapshot, a Table III PDF a fraction of that, one per fiscal year: x10 headroom and more
    limits=FetchLimits.mib(response=64, body=64, landing=512),
    parse=_parse,
    check_frames=check_frames,
    check_suites=(NIV_TOTAL_CHECK, IV_TOTAL_CHECK, CLASS_COVERAGE_CHECK),
)
