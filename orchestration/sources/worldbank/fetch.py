"""World Bank live fetch: every page of every indicator, for all configured countries, into the landing."""

from __future__ import annotations

from urllib.parse import urlencode

from orchestration.sources.worldbank.parse import INDICATORS, PER_PAGE, parse_page
from orchestration.fetch.http import LiveFetcher


def indicator_url(base_url: str, countries: tuple[str, ...], indicator: str, first_year: int, last_year: int,
                  page: int = 1, per_page: int = PER_PAGE) -> str:
    query = urlencode({"format": "json", "date": f"{first_year}:{last_year}", "per_page": per_page, "page": page})
    return f"{base_url}/country/{';'.join(countries)}/indicator/{indicator}?{query}"


def page_file_name(indicator: str, countries: tuple[str, ...], page: int) -> str:
    return f"{indicator}__{'-'.join(countries)}__p{page:03d}.json"


def fetch(fetcher: LiveFetcher, base_url: str, countries: tuple[str, ...], first_year: int, last_year: int) -> dict:
    """Fetch every page of every indicator into the landing archive; returns manifest metadata."""
    for indicator in INDICATORS:
        page, pages = 1, 1
        while page <= pages:
            url = indicator_url(base_url, countries, indicator, first_year, last_year, page)
            landed = fetcher.get(url, page_file_name(indicator, countries, page), kind="json")
            header, _ = parse_page(landed.read_bytes(), url)
            pages = int(header["pages"])
            page += 1
    return {"countries": list(countries), "indicators": list(INDICATORS), "years": [first_year, last_year]}
