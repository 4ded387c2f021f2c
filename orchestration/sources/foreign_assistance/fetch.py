"""ForeignAssistance.gov live fetch: the Country Summary CSV, then every page of the API by USG
sector, one fiscal year per query."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from orchestration.sources.foreign_assistance.parse import SECTOR_API_PATH, parse_country_summary, parse_sector_page
from orchestration.fetch.http import LiveFetcher

COUNTRY_SUMMARY_URL_ENV = "KPI_FOREIGN_ASSISTANCE_COUNTRY_SUMMARY_URL"
DEFAULT_COUNTRY_SUMMARY_URL = "https://s3.amazonaws.com/files.explorer.devtechlab.com/us_foreign_aid_country.csv"
PER_PAGE = 1000  # the API's maximum page size


def country_summary_url(settings) -> str:
    """KPI_FOREIGN_ASSISTANCE_COUNTRY_SUMMARY_URL, as the settings parsed it (the SPEC declares it)."""
    return settings.foreign_assistance_country_summary_url or DEFAULT_COUNTRY_SUMMARY_URL


def sector_api_url(base: str, fiscal_year: int, page: int, per_page: int = PER_PAGE) -> str:
    return f"{base}{SECTOR_API_PATH}?{urlencode({'fiscal_year': fiscal_year, 'per_page': per_page, 'page': page})}"


def sector_page_file_name(fiscal_year: int, page: int) -> str:
    return f"by-usg-sector__fy{fiscal_year}__p{page:03d}.json"


def fetch(fetcher: LiveFetcher, settings) -> dict:
    """The Country Summary CSV, then every page of the API by USG sector, one fiscal year per query.

    The CSV is served from another host than the API (the publisher's file bucket): it goes through a
    second LiveFetcher of the same landing, allowed only the configured CSV URL's host.
    """
    csv_url = country_summary_url(settings)
    csv_fetcher = fetcher.for_base_url(csv_url)
    landed = csv_fetcher.get(csv_url, "us_foreign_aid_country.csv", kind="csv")
    parse_country_summary(landed.read_bytes(), csv_url, settings.countries, settings.first_year,
                          dt.date.today(), csv_url, fetcher.writer.fetch_id)  # fail the fetch on a bad file
    api_base = settings.foreign_assistance_base_url
    last_fiscal_year = settings.last_year + 1  # fiscal year N starts in October of N-1
    for fiscal_year in range(settings.first_year, last_fiscal_year + 1):
        page, pages = 1, 1
        while page <= pages:
            url = sector_api_url(api_base, fiscal_year, page)
            landed_page = fetcher.get(url, sector_page_file_name(fiscal_year, page), kind="json")
            info, _ = parse_sector_page(landed_page.read_bytes(), url)
            pages = info["total_pages"]
            page += 1
    return {"country_summary_url": csv_url, "sector_api": f"{api_base}{SECTOR_API_PATH}",
            "fiscal_years": [settings.first_year, last_fiscal_year]}
