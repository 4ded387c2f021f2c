"""State Department live fetch: the newest NIV Detail Table workbook and the Table III PDFs.

Both are found on the publisher's index pages (archived in the landing beside the files), or taken
from ``KPI_STATE_DEPT_NIV_WORKBOOK_URL`` / ``KPI_STATE_DEPT_TABLE_III_URLS`` (comma-separated).
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urljoin, urlsplit

from orchestration.core.errors import SourceFormatError
from orchestration.sources.state_dept.parse import SOURCE, fiscal_year_of_file_name
from orchestration.fetch.http import LiveFetcher
from orchestration.fetch.web import page_links


NIV_INDEX_PATH = "/content/travel/en/legal/visa-law0/visa-statistics/nonimmigrant-visa-statistics.html"
TABLE_III_INDEX_PATH = "/content/travel/en/legal/visa-law0/visa-statistics/annual-reports.html"
NIV_WORKBOOK_URL_ENV = "KPI_STATE_DEPT_NIV_WORKBOOK_URL"
TABLE_III_URLS_ENV = "KPI_STATE_DEPT_TABLE_III_URLS"


def rebase_url(url: str, base_url: str) -> str:
    """The URL on the configured host: the base URL replaces the publisher's scheme and host."""
    parts = urlsplit(url)
    return base_url.rstrip("/") + parts.path + (f"?{parts.query}" if parts.query else "")


def _file_name(url: str) -> str:
    return unquote(urlsplit(url).path.rsplit("/", 1)[-1])


_WORKBOOK_LINK = re.compile(r"NIVDetailTable\.xlsx$", re.IGNORECASE)
_WORKBOOK_YEARS = re.compile(r"FYs?\s*(\d{2})\s*-\s*(\d{2})", re.IGNORECASE)
_TABLE_III_LINK = re.compile(r"table[\s_-]*iii[^/]*\.pdf$", re.IGNORECASE)
def newest_workbook_link(links: list[str], location: str) -> str:
    """The NIV Detail Table link covering the latest fiscal year (FYs97-24 beats FYs97-23)."""
    candidates = [link for link in links if _WORKBOOK_LINK.search(_file_name(link))]
    if not candidates:
        raise SourceFormatError(SOURCE, location, "no link to a '...NIVDetailTable.xlsx' workbook on the index page")

    def last_year(link: str) -> int:
        match = _WORKBOOK_YEARS.search(_file_name(link))
        return int(match.group(2)) if match else -1

    return max(candidates, key=last_year)


def table_iii_links(links: list[str], first_year: int, location: str) -> list[str]:
    """Table III PDF links of fiscal years from ``first_year`` (links without a year are kept:
    the PDF's own title decides), de-duplicated, in page order."""
    found = []
    for link in links:
        name = _file_name(link)
        year = fiscal_year_of_file_name(name)
        if _TABLE_III_LINK.search(name) and (year is None or year >= first_year) and link not in found:
            found.append(link)
    if not found:
        raise SourceFormatError(SOURCE, location, "no link to a Table III PDF on the index page")
    return found


def _explicit_urls(env: dict[str, str], name: str) -> list[str]:
    return [url.strip() for url in env.get(name, "").split(",") if url.strip()]


def fetch(fetcher: LiveFetcher, base_url: str, first_year: int, env: dict[str, str]) -> dict:
    """Fetch the newest NIV workbook and the Table III PDFs into the landing; returns metadata.
    ``env``: the explicit-URL settings as the settings parsed them (``SPEC.env_from(settings)``)."""
    workbook_urls = _explicit_urls(env, NIV_WORKBOOK_URL_ENV)
    if workbook_urls:
        workbook_url = workbook_urls[0]
    else:
        index_url = base_url.rstrip("/") + NIV_INDEX_PATH
        links = page_links(fetcher.get_text(index_url, "nonimmigrant-visa-statistics.html"))
        workbook_url = rebase_url(urljoin(index_url, newest_workbook_link(links, index_url)), base_url)
    fetcher.get(workbook_url, _file_name(workbook_url), kind="xlsx")

    table_iii_urls = _explicit_urls(env, TABLE_III_URLS_ENV)
    if not table_iii_urls:
        index_url = base_url.rstrip("/") + TABLE_III_INDEX_PATH
        links = page_links(fetcher.get_text(index_url, "annual-reports.html"))
        table_iii_urls = [rebase_url(urljoin(index_url, link), base_url) for link in table_iii_links(links, first_year, index_url)]
    for url in table_iii_urls:
        fetcher.get(url, _file_name(url), kind="pdf")
    return {"niv_workbook_url": workbook_url, "table_iii_urls": table_iii_urls}
