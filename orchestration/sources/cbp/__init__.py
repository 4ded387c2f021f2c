"""US border encounters: the DHS OHSS Border Patrol workbook and CBP's Southwest land border CSV.

``fetch.py``: both files, found on the publishers' landing pages (or given by URL). ``parse.py``:
workbook sheets and CSV rows -> encounters per fiscal year or month, region and citizenship.
``checks.py``: months against the published annual figure, and which fiscal years are complete.
"""

from __future__ import annotations

import importlib

from orchestration.sources.contract import Cadence, RawDataset, SourceSetting, SourceSpec, reexport
from orchestration.fetch.limits import FetchLimits
from orchestration.sources.cbp.plausibility import PLAUSIBILITY
from orchestration.fetch.http import LiveFetcher

reexport(__name__, *(importlib.import_module(f"{__name__}.{part}") for part in ("parse", "fetch", "checks")))

from orchestration.sources.cbp.checks import CHECK_MONTHLY_VS_ANNUAL, CHECK_YEAR_COMPLETENESS, check_frames  # noqa: E402

from orchestration.sources.cbp.fetch import (  # noqa: E402
    CBP_CSV_URL_ENV, DEFAULT_OHSS_BASE_URL, OHSS_BASE_URL_ENV, OHSS_WORKBOOK_URL_ENV, fetch,
)
from orchestration.sources.cbp.parse import (  # noqa: E402
    CBP_MONTHLY, LICENCE, OHSS_ANNUAL, OHSS_MONTHLY, SOURCE, SOURCE_ID, parse,
)


def _fetch(fetcher: LiveFetcher, settings) -> dict:
    return fetch(fetcher, settings.cbp_base_url, SPEC.env_from(settings))


SPEC = SourceSpec(
    name=SOURCE,
    source_id=SOURCE_ID,
    title="US border encounters (DHS OHSS Border Patrol workbook; CBP Southwest land border CSV)",
    licence=LICENCE,
    cadence=Cadence("monthly", warn_after_days=45, fail_after_days=75),
    base_url_setting="cbp_base_url",
    settings=(
        SourceSetting("KPI_CBP_BASE_URL", "url", "https://www.cbp.gov", "CBP Southwest border encounters page"),
        SourceSetting(OHSS_BASE_URL_ENV, "url", DEFAULT_OHSS_BASE_URL, "DHS OHSS encounters page"),
        SourceSetting(OHSS_WORKBOOK_URL_ENV, "url", None, "the OHSS workbook's URL (default: linked on the OHSS page)"),
        SourceSetting(CBP_CSV_URL_ENV, "url", None, "the CBP CSV's URL (default: linked on the CBP page)"),
    ),
    datasets=(
        RawDataset(
            name=OHSS_MONTHLY,
            replace_on=("vintage", "citizenship_code"),
            description="OHSS Border Patrol encounters per fiscal month, region and citizenship (rounded to 10), per release.",
        ),
        RawDataset(
            name=OHSS_ANNUAL,
            replace_on=("vintage", "citizenship_code"),
            description="OHSS Border Patrol encounters per fiscal year, region and citizenship (rounded to 10), per release; "
                        "the border_encounters KPI's source.",
        ),
        RawDataset(
            name=CBP_MONTHLY,
            replace_on=("vintage", "citizenship_code"),
            description="CBP Southwest land border encounters per fiscal month, component, demographic, citizenship group, "
                        "title of authority and encounter type (exact counts), per release.",
        ),
    ),
    plausibility=PLAUSIBILITY,
    fetch=_fetch,
    # the OHSS workbook is 1.2 MB in the snapshot; the nationwide encounters CSV, which compresses well, is the largest live file: x10 headroom and more
    limits=FetchLimits.mib(response=64, body=256, landing=512),
    parse=parse,
    check_frames=check_frames,
    check_suites=(CHECK_MONTHLY_VS_ANNUAL, CHECK_YEAR_COMPLETENESS),
)
