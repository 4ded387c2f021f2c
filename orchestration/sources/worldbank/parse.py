"""World Bank World Development Indicators, through the API v2 JSON endpoint.

Live: one request per indicator for all configured countries, every page followed. Replay reads
landings of the same JSON (the bundled snapshot holds the bulk CSVs converted once by
``scripts/build_snapshot.py``), so both go through ``parse_landing``.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlencode, urlsplit

import pandas as pd

from orchestration.countries import iso2_to_iso3, known_iso3
from orchestration.errors import SourceFormatError
from orchestration.transport import Landing, check_body_kind

SOURCE = "worldbank"
SOURCE_ID = "worldbank_wdi"
LICENCE = "CC BY 4.0 (World Bank terms of use for datasets)"
PER_PAGE = 1000

# The indicators the warehouse loads, and the unit each is published in.
INDICATORS: dict[str, str] = {
    "SL.TLF.TOTL.IN": "persons",
    "SL.UEM.TOTL.ZS": "percent",
    "SL.EMP.TOTL.SP.ZS": "percent",
    "SE.PRM.CMPT.ZS": "percent",
    "SE.SEC.CMPT.LO.ZS": "percent",
    "VC.IHR.PSRC.P5": "per 100,000 people",
    "SP.POP.TOTL": "persons",
    "BX.TRF.PWKR.CD.DT": "current US$",
    "BX.TRF.PWKR.DT.GD.ZS": "percent of GDP",
}

COLUMNS = ["country_iso3", "indicator_id", "year", "value", "vintage", "source_url", "fetch_id"]


def parse_page(body: bytes, location: str) -> tuple[dict, list[dict]]:
    """The header and rows of one API page; an error body (sent with HTTP 200) raises."""
    check_body_kind(SOURCE, location, body, "json")
    try:
        payload = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SourceFormatError(SOURCE, location, f"response is not valid JSON ({exc}); truncated download?") from None
    if isinstance(payload, list) and payload and isinstance(payload[0], dict) and "message" in payload[0]:
        messages = "; ".join(
            f"id {m.get('id')}: {m.get('key', '')} {m.get('value', '')}".strip() for m in payload[0]["message"]
        )
        raise SourceFormatError(SOURCE, location, f"the API returned an error body: {messages}")
    if not (isinstance(payload, list) and len(payload) in (1, 2) and isinstance(payload[0], dict)):
        raise SourceFormatError(SOURCE, location, "unexpected JSON shape: expected [header, rows]")
    header = payload[0]
    for key in ("page", "pages", "lastupdated"):
        if key not in header:
            raise SourceFormatError(SOURCE, location, f"page header has no {key!r}")
    rows = payload[1] if len(payload) == 2 and payload[1] is not None else []
    if not isinstance(rows, list):
        raise SourceFormatError(SOURCE, location, "rows are not a list")
    return header, rows


def _request_key(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    page = int(query.pop("page", ["1"])[0])
    return f"{parts.path}?{urlencode(sorted((k, v[0]) for k, v in query.items()))}", page


def _parse_value(raw, location: str, indicator: str, iso3: str, year: int) -> float | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        raise SourceFormatError(SOURCE, location, f"{indicator} {iso3} {year}: value {raw!r} is not a number")
    return float(raw)


def parse_landing(landing: Landing, countries: tuple[str, ...], first_year: int, last_year: int) -> pd.DataFrame:
    """Rows (country, indicator, year, value, vintage) of one landing; null values are left out.

    Every request's pages must all be present: a page missing from a paged response fails the
    landing rather than loading a series with a hole in it.
    """
    pages_seen: dict[str, dict[int, int]] = {}
    records: list[tuple] = []
    iso2_map = iso2_to_iso3()
    known = known_iso3()
    wanted = set(countries)
    for landed in landing.files:
        location = f"{landed.url} (archived as {landed.path})"
        header, rows = parse_page(landed.read_bytes(), location)
        key, page = _request_key(landed.url)
        if int(header["page"]) != page:
            raise SourceFormatError(SOURCE, location, f"requested page {page} but the body is page {header['page']}")
        pages_seen.setdefault(key, {})[page] = int(header["pages"])
        vintage = str(header["lastupdated"])[:10]
        for row in rows:
            try:
                indicator = row["indicator"]["id"]
                iso3 = row.get("countryiso3code") or iso2_map.get(row["country"]["id"], "")
                year = int(row["date"])
            except (KeyError, TypeError, ValueError) as exc:
                raise SourceFormatError(SOURCE, location, f"row without indicator/country/date: {exc!r}") from None
            if indicator not in INDICATORS:
                raise SourceFormatError(SOURCE, location, f"unexpected indicator {indicator!r}")
            if iso3 not in wanted or not first_year <= year <= last_year:
                continue
            if iso3 not in known:
                raise SourceFormatError(SOURCE, location, f"unknown country code {iso3!r}")
            value = _parse_value(row.get("value"), location, indicator, iso3, year)
            if value is not None:
                records.append((iso3, indicator, year, value, vintage, landed.url, landing.fetch_id))
    for key, pages in pages_seen.items():
        expected = set(range(1, max(pages.values()) + 1))
        missing = sorted(expected - set(pages))
        if missing:
            raise SourceFormatError(SOURCE, f"{landing.path} ({key})", f"page(s) {missing} of {max(pages.values())} missing from a paged response")
    frame = pd.DataFrame.from_records(records, columns=COLUMNS)
    frame["year"] = frame["year"].astype("int64")
    frame["value"] = frame["value"].astype("float64")
    frame["vintage"] = pd.to_datetime(frame["vintage"], format="%Y-%m-%d").dt.date
    return frame


def combine_vintages(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """One row per (country, indicator, year, vintage): identical repeats (the same vintage served
    by two files) collapse; conflicting ones stay, for the suite's uniqueness check to report."""
    if not frames:
        return pd.DataFrame(columns=COLUMNS)
    combined = pd.concat(frames, ignore_index=True)
    return combined.drop_duplicates(subset=["country_iso3", "indicator_id", "year", "vintage", "value"]).reset_index(drop=True)
