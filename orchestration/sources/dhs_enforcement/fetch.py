"""DHS enforcement tables' live fetch: the newest release's workbook, found on the OHSS page that
lists the monthly tables (archived beside it), or the workbooks given by URL (several releases,
e.g. to load past releases for the revision history)."""

from __future__ import annotations

import re

from orchestration.core.errors import SourceFormatError
from orchestration.sources.dhs_enforcement.parse import MONTH_NAMES, SOURCE
from orchestration.fetch.web import archive_name, file_name_of, linked_files
from orchestration.fetch.http import LiveFetcher

TABLES_PAGE_PATH = "/topics/immigration/immigration-enforcement/immigration-enforcement-and-legal-processes-monthly"
WORKBOOK_LINK = re.compile(r"immigration-enforcement-and-legal-processes-tables.*\.xlsx$", re.IGNORECASE)
_RELEASE_IN_NAME = re.compile(r"-(?P<month>[a-z]+)-(?P<year>\d{4})\.xlsx$", re.IGNORECASE)


def release_of_file_name(name: str) -> tuple[int, int] | None:
    """``..._tables-august-2024.xlsx`` -> (2024, 8); None when the name carries no month and year."""
    match = _RELEASE_IN_NAME.search(name)
    if not match or match.group("month").capitalize() not in MONTH_NAMES:
        return None
    return int(match.group("year")), MONTH_NAMES.index(match.group("month").capitalize()) + 1


def newest_workbook(links: list[str], location: str) -> str:
    """The linked workbook of the latest release (by the month and year in its file name)."""
    dated = [(release_of_file_name(file_name_of(link)), link) for link in links]
    dated = [(release, link) for release, link in dated if release]
    if not dated:
        raise SourceFormatError(SOURCE, location, "the page links no '...legal-processes-tables-<month>-<year>.xlsx' "
                                                  "workbook (page redesigned?); set KPI_DHS_ENFORCEMENT_WORKBOOK_URLS")
    return max(dated)[1]


def fetch(fetcher: LiveFetcher, base_url: str, workbook_urls: tuple[str, ...] = ()) -> dict:
    """The workbooks given (each from its own host), else the newest one the tables page links (only
    from the configured host, like the page)."""
    if workbook_urls:
        for url in workbook_urls:
            fetcher.for_base_url(url).get(url, archive_name(url), kind="xlsx")
        return {"workbook_urls": list(workbook_urls)}
    page_url = base_url.rstrip("/") + TABLES_PAGE_PATH
    page = fetcher.get_text(page_url, "legal-processes-monthly.html")
    url = newest_workbook(linked_files(page, page_url, WORKBOOK_LINK), page_url)
    fetcher.get(url, archive_name(url), kind="xlsx")
    return {"workbook_urls": [url]}
