"""US foreign assistance from ForeignAssistance.gov: the Country Summary CSV and the API by USG sector.

``fetch.py``: the Country Summary CSV and every page of the API by USG sector, one fiscal year per
query. ``parse.py``: CSV and API pages -> amounts per country, fiscal year, transaction type (and
sector), one row set per release. ``checks.py``: none (the sectors' sum against the Country Summary is a dbt test).
"""

from __future__ import annotations

import importlib

import pandas as pd

from orchestration.sources.contract import Cadence, RawDataset, SourceSetting, SourceSpec, first_input_year, reexport
from orchestration.fetch.limits import FetchLimits
from orchestration.sources.foreign_assistance.plausibility import PLAUSIBILITY
from orchestration.fetch.archive import Landing, archived_release_dates

_parse_module = importlib.import_module(f"{__name__}.parse")
reexport(__name__, _parse_module, *(importlib.import_module(f"{__name__}.{part}") for part in ("fetch", "checks")))

from orchestration.sources.foreign_assistance.checks import check_frames  # noqa: E402

from orchestration.sources.foreign_assistance.fetch import COUNTRY_SUMMARY_URL_ENV, DEFAULT_COUNTRY_SUMMARY_URL, fetch  # noqa: E402
from orchestration.sources.foreign_assistance.parse import (  # noqa: E402
    COUNTRY_SUMMARY_COLUMNS, LICENCE, PAGING, SECTOR_AMOUNT_COLUMNS, SECTOR_COLUMNS, SOURCE, SOURCE_ID, parse_landing,
)


def _parse(landings: list[Landing], settings) -> dict[str, pd.DataFrame]:
    # every archive these landings (or earlier copies of their bytes) may be in: undated files take
    # the date the archive knows their bytes by (parse.release_date)
    roots = [settings.landing_dir, settings.snapshot_dir, *(landing.path.parent.parent for landing in landings)]
    dated_content = archived_release_dates(roots, SOURCE)
    parsed = [parse_landing(landing, settings.countries, first_input_year(settings.first_year), dated_content)
              for landing in landings]
    columns = {"foreign_assistance_country_summary": COUNTRY_SUMMARY_COLUMNS,
               "foreign_assistance_usg_sector_amounts": SECTOR_AMOUNT_COLUMNS,
               "foreign_assistance_usg_sectors": SECTOR_COLUMNS}
    return {name: _parse_module._concat([frames[name] for frames in parsed], cols) for name, cols in columns.items()}


SPEC = SourceSpec(
    name=SOURCE,
    source_id=SOURCE_ID,
    title="ForeignAssistance.gov: Country Summary and API by US Government sector",
    licence=LICENCE,
    # the Country Summary and the API are refreshed every few months as agencies report
    cadence=Cadence("quarterly to half-yearly releases", warn_after_days=120, fail_after_days=200),
    base_url_setting="foreign_assistance_base_url",
    settings=(
        SourceSetting("KPI_FOREIGN_ASSISTANCE_BASE_URL", "url", "https://foreignassistance.gov", "the API by USG sector"),
        SourceSetting(COUNTRY_SUMMARY_URL_ENV, "url", DEFAULT_COUNTRY_SUMMARY_URL, "Country Summary CSV"),
    ),
    datasets=(
        RawDataset(
            name="foreign_assistance_country_summary",
            replace_on=("country_iso3", "vintage"),
            description="Country Summary: amounts per country, transaction type and fiscal year, one row set per release (vintage).",
        ),
        RawDataset(
            name="foreign_assistance_usg_sector_amounts",
            replace_on=("country_iso3", "vintage"),
            description="API by USG sector: current-dollar obligations and disbursements per country, sector and fiscal year, per release.",
        ),
        RawDataset(
            name="foreign_assistance_usg_sectors",
            replace_on=("vintage",),
            year_column=None,
            description="The USG sector taxonomy (sector -> category) of each API release.",
        ),
    ),
    plausibility=PLAUSIBILITY,
    fetch=fetch,
    # the Country Summary CSV is 2.4 MB in the snapshot; an API page of 1000 rows about 0.3 MB, one query per fiscal year: x10 headroom and more
    limits=FetchLimits.mib(response=64, body=128, landing=512),
    paging=PAGING,
    parse=_parse,
    check_frames=check_frames,
)
