"""Border encounters live fetch: the OHSS workbook and the CBP CSV, each found on its publisher's
landing page (archived beside the files) unless its URL is given."""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from urllib.parse import unquote, urlsplit

from orchestration.core.errors import SourceFormatError
from orchestration.sources.cbp.parse import SOURCE
from orchestration.fetch.http import LiveFetcher
from orchestration.fetch.web import linked_files

# Live mode: the publishers' landing pages list the current files.
OHSS_BASE_URL_ENV = "KPI_CBP_OHSS_BASE_URL"
OHSS_WORKBOOK_URL_ENV = "KPI_CBP_OHSS_WORKBOOK_URL"
CBP_CSV_URL_ENV = "KPI_CBP_SBO_CSV_URL"
DEFAULT_OHSS_BASE_URL = "https://ohss.dhs.gov"
OHSS_LANDING_PATH = "/khsm/cbp-encounters"
CBP_LANDING_PATH = "/document/stats/southwest-land-border-encounters"
OHSS_WORKBOOK_LINK = re.compile(r"encounters.*usbp.*\.xlsx$", re.IGNORECASE)
CBP_CSV_LINK = re.compile(r"sbo-encounters.*\.csv$", re.IGNORECASE)


def find_file_link(page_html: str, page_url: str, pattern: re.Pattern, location: str) -> str:
    """The one absolute URL on a landing page whose (decoded) file name matches ``pattern``."""
    links = linked_files(page_html, page_url, pattern)
    if not links:
        raise SourceFormatError(SOURCE, location, f"the landing page links no file matching {pattern.pattern!r} (page redesigned?)")
    if len(links) > 1:
        raise SourceFormatError(SOURCE, location, f"the landing page links several files matching {pattern.pattern!r}: {links}; "
                                                  f"set {OHSS_WORKBOOK_URL_ENV} / {CBP_CSV_URL_ENV} to choose one")
    return links[0]


def file_name_from_url(url: str) -> str:
    """``.../KHSM%20Encounters%20(USBP)%20fy25m11.xlsx`` -> ``KHSM_Encounters_USBP_fy25m11.xlsx`` (as archived)."""
    name = unquote(PurePosixPath(urlsplit(url).path).name)
    stem, _, suffix = name.rpartition(".")
    stem = re.sub(r"[^A-Za-z0-9-]+", "_", stem).strip("_")
    return f"{stem}.{suffix.lower()}"


def live_urls(cbp_base_url: str, env: dict[str, str]) -> dict[str, str | None]:
    """Landing pages and (optional) explicit file URLs of both publishers, from settings and env."""
    ohss_base = (env.get(OHSS_BASE_URL_ENV, "").strip() or DEFAULT_OHSS_BASE_URL).rstrip("/")
    return {
        "ohss_page": f"{ohss_base}{OHSS_LANDING_PATH}",
        "ohss_workbook": env.get(OHSS_WORKBOOK_URL_ENV, "").strip() or None,
        "cbp_page": f"{cbp_base_url.rstrip('/')}{CBP_LANDING_PATH}",
        "cbp_csv": env.get(CBP_CSV_URL_ENV, "").strip() or None,
    }


def fetch(fetcher: LiveFetcher, cbp_base_url: str, env: dict[str, str]) -> dict:
    """Fetch the OHSS workbook and the CBP CSV (finding each on its landing page unless given)."""
    urls = live_urls(cbp_base_url, env)
    # OHSS is another host than CBP's: a second fetcher on that host, writing into the same landing.
    ohss_host_url = urls["ohss_workbook"] or urls["ohss_page"]
    ohss_fetcher = fetcher.for_base_url(ohss_host_url)
    workbook_url = urls["ohss_workbook"] or find_file_link(
        ohss_fetcher.get_text(urls["ohss_page"], "ohss_landing_page.html"), urls["ohss_page"], OHSS_WORKBOOK_LINK, urls["ohss_page"])
    csv_url = urls["cbp_csv"] or find_file_link(
        fetcher.get_text(urls["cbp_page"], "cbp_landing_page.html"), urls["cbp_page"], CBP_CSV_LINK, urls["cbp_page"])
    ohss_fetcher.get(workbook_url, file_name_from_url(workbook_url), kind="xlsx")
    fetcher.get(csv_url, file_name_from_url(csv_url), kind="csv")
    return {"ohss_workbook_url": workbook_url, "cbp_csv_url": csv_url}
