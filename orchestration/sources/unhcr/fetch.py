"""UNHCR live fetch: every page of the population, IDMC and asylum endpoints of the population
statistics API v1, one query per country of origin (asylum figures for the USA only)."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from orchestration.sources.unhcr.parse import PAGE_SIZE, PAGING, parse_page
from orchestration.fetch.http import LiveFetcher
ASYLUM_COUNTRY = "USA"  # asylum applications and decisions are loaded for the United States


def endpoint_query(endpoint: str, origin: str, first_year: int, last_year: int) -> dict[str, str]:
    """The query of one endpoint for one origin, without the page (ISO3 codes: cf_type=ISO)."""
    query = {"cf_type": "ISO", "coo": origin, "yearFrom": str(first_year), "yearTo": str(last_year), "limit": str(PAGE_SIZE)}
    if endpoint == "population":
        query["coa_all"] = "true"  # one row per asylum country: the stocks by origin are their sum
    elif endpoint in ("asylum-applications", "asylum-decisions"):
        query["coa"] = ASYLUM_COUNTRY
    return query


def page_url(base_url: str, endpoint: str, query: dict[str, str], page: int) -> str:
    return f"{base_url.rstrip('/')}/{endpoint}/?{urlencode({**query, 'page': str(page)})}"


def page_file_name(endpoint: str, origin: str, page: int) -> str:
    return f"{endpoint}__{origin}__p{page:03d}.json"


ENDPOINT_ORDER = ("population", "idmc", "asylum-applications", "asylum-decisions")


def fetch(fetcher: LiveFetcher, base_url: str, countries: tuple[str, ...], first_year: int, last_year: int,
          today: dt.date | None = None) -> dict:
    """Every page of every endpoint for every origin into the landing (one page past the header's
    count when its last page is full); the vintage is the fetch day."""
    for endpoint in ENDPOINT_ORDER:
        for origin in countries:
            query = endpoint_query(endpoint, origin, first_year, last_year)
            page = 1
            while True:
                url = page_url(base_url, endpoint, query, page)
                landed = fetcher.get(url, page_file_name(endpoint, origin, page), kind="json")
                header, items = parse_page(landed.read_bytes(), url)
                # past the header's count while pages come back full: the parser refuses a header that
                # under-reports (orchestration/fetch/paging.py); a bound keeps an endless API finite
                if not PAGING.wants_next_page(page, header["maxPages"], len(items)) or page > header["maxPages"]:
                    break
                page += 1
    return {"vintage": (today or dt.datetime.now(dt.timezone.utc).date()).isoformat(),
            "vintage_note": "the day of the fetch: the API carries no release date",
            "countries": list(countries), "years": [first_year, last_year]}
