"""UNODC World Drug Report statistical annex: drug seizures (table 7.1) by country, drug and year.

``fetch.py``: the table's workbook, linked from the annex page (or given by URL). ``parse.py``:
the sheet -> kilograms per published row. ``checks.py``: the cocaine-type drug names against the
seed that says which count towards cocaine_seized_kg.
"""

from __future__ import annotations

import importlib

import pandas as pd

from orchestration.sources.contract import Cadence, RawDataset, SourceSetting, SourceSpec, reexport
from orchestration.fetch.limits import FetchLimits
from orchestration.sources.unodc.plausibility import PLAUSIBILITY
from orchestration.fetch.archive import Landing
from orchestration.fetch.http import LiveFetcher

reexport(__name__, *(importlib.import_module(f"{__name__}.{part}") for part in ("parse", "fetch", "checks")))

from orchestration.sources.unodc.checks import CHECK_DRUG_NAMES, check_frames, expectation_parameters  # noqa: E402
from orchestration.sources.unodc.fetch import fetch  # noqa: E402
from orchestration.sources.unodc.parse import DATASET, LICENCE, SOURCE, SOURCE_ID, parse_landings  # noqa: E402


def _fetch(fetcher: LiveFetcher, settings) -> dict:
    return fetch(fetcher, settings.unodc_annex_page_url, settings.unodc_drug_seizures_url)


def _parse(landings: list[Landing], settings) -> dict[str, pd.DataFrame]:
    # each annex covers five reference years; there is no input year to load before them
    return parse_landings(landings, settings.countries)


SPEC = SourceSpec(
    name=SOURCE,
    source_id=SOURCE_ID,
    title="UNODC World Drug Report statistical annex: drug seizures (table 7.1)",
    licence=LICENCE,
    cadence=Cadence("annual (the World Drug Report, each June)", warn_after_days=400, fail_after_days=550),
    base_url_setting="unodc_annex_page_url",
    settings=(
        SourceSetting("KPI_UNODC_ANNEX_PAGE_URL", "url", "https://www.unodc.org/unodc/en/data-and-analysis/wdr2024_annex.html",
                      "the World Drug Report statistical annex page that links table 7.1"),
        SourceSetting("KPI_UNODC_DRUG_SEIZURES_URL", "url", None, "table 7.1's workbook URL (default: linked on the annex page)"),
    ),
    datasets=(
        RawDataset(
            name=DATASET,
            replace_on=("country_iso3", "vintage"),
            year_column="year",
            description="Drug seizures in kilograms per country, drug and reference year, one row per published row "
                        "(several per key are summed in dbt), per annex release.",
        ),
    ),
    plausibility=PLAUSIBILITY,
    fetch=_fetch,
    # the drug seizures annex workbook is 0.5 MB in the snapshot, its index page far less: x10 headroom and more
    limits=FetchLimits.mib(response=32, body=32, landing=64),
    parse=_parse,
    check_frames=check_frames,
    check_suites=(CHECK_DRUG_NAMES,),
    expectation_parameters=expectation_parameters,
)
