"""World Bank World Development Indicators, through the API v2 JSON endpoint.

Live: one request per indicator for all configured countries, every page followed. Replay reads
landings of the same JSON (the bundled snapshot holds the bulk CSVs converted once by
``scripts/build_snapshot.py``), so both go through ``parse_landing``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

import pandas as pd

from orchestration.core.countries import iso2_to_iso3, known_iso3
from orchestration.core.errors import SourceFormatError
from orchestration.fetch.archive import Landing
from orchestration.fetch.cells import LINEAGE_COLUMNS, archived_path, json_pointer, printed_text
from orchestration.fetch.http import check_body_kind
from orchestration.fetch.paging import Answer, Page, PagingContract
from orchestration.fetch.paging import check_answer_complete as check_answer_complete_shared

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

# the lineage columns last: where each value is in its archived page (see orchestration/fetch/cells.py)
COLUMNS = ["country_iso3", "indicator_id", "year", "value", "vintage", "source_url", "fetch_id", *LINEAGE_COLUMNS]


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
    for key in ("page", "pages", "per_page", "total", "lastupdated"):
        if key not in header:
            raise SourceFormatError(SOURCE, location, f"page header has no {key!r}")
    for key in ("page", "pages", "per_page", "total"):
        try:
            header[key] = int(header[key])  # the API sends some of them as text
        except (TypeError, ValueError):
            raise SourceFormatError(SOURCE, location, f"page header's {key!r} is {header[key]!r}, not a number") from None
    rows = payload[1] if len(payload) == 2 and payload[1] is not None else []
    if not isinstance(rows, list):
        raise SourceFormatError(SOURCE, location, "rows are not a list")
    return header, rows


@dataclass(frozen=True)
class Request:
    """What one landed page asked the API for (read back from its URL)."""

    key: str  # the request without its page number: the pages of one answer share it
    page: int
    countries: frozenset[str]
    indicator: str
    first_year: int | None
    last_year: int | None


def request_of(url: str) -> Request:
    parts = urlsplit(url)
    query = {name: values[0] for name, values in parse_qs(parts.query).items()}
    page = int(query.pop("page", "1"))
    segments = unquote(parts.path).split("/")
    try:
        countries = segments[segments.index("country") + 1]
        indicator = segments[segments.index("indicator") + 1]
    except (ValueError, IndexError):
        raise SourceFormatError(SOURCE, url, "the URL names no /country/<codes>/indicator/<id>") from None
    first, _, last = query.get("date", "").partition(":")
    return Request(
        key=f"{parts.path}?{urlencode(sorted(query.items()))}", page=page,
        countries=frozenset(code.upper() for code in countries.split(";") if code),
        indicator=indicator,
        first_year=int(first) if first.isdigit() else None,
        last_year=int(last or first) if (last or first).isdigit() else None,
    )


# What the API's page header states (every page of one answer agrees on all of it, lastupdated too).
PAGING = PagingContract(page_field="page", pages_field="pages", per_page_field="per_page", total_field="total",
                        agree_fields=("lastupdated",))


def _row_identity(row: dict) -> str:
    return f"for {row.get('countryiso3code') or row.get('country')} {row.get('date')}"


def check_answer_complete(pages: dict[int, tuple[dict, list[dict], str]], request_location: str) -> None:
    """The pages of one answer are whole (orchestration/fetch/paging.py): ``pages`` maps page number ->
    (header, rows, location)."""
    answer = Answer(request_location, {number: Page(number, header, rows, location)
                                       for number, (header, rows, location) in pages.items()})
    check_answer_complete_shared(SOURCE, PAGING, answer, request_location, row_key=_row_identity)


def _parse_value(raw, location: str, indicator: str, iso3: str, year: int) -> float | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        raise SourceFormatError(SOURCE, location, f"{indicator} {iso3} {year}: value {raw!r} is not a number")
    return float(raw)


def parse_landing(landing: Landing, countries: tuple[str, ...], first_year: int, last_year: int) -> pd.DataFrame:
    """Rows (country, indicator, year, value, vintage) of one landing; null values are left out.

    Every answer must be whole and be what was asked for: all its pages present, in agreement, not
    repeated, holding the header's ``total`` rows, each row for the requested indicator, one of the
    requested countries and a requested year, no (country, year) twice. Anything else fails the
    landing, naming the URL and the page, rather than loading a series with a hole in it.
    """
    answers: dict[str, dict[int, tuple[dict, list[dict], str]]] = {}
    records: list[tuple] = []
    iso2_map = iso2_to_iso3()
    known = known_iso3()
    wanted = set(countries)
    for landed in landing.files:
        location = f"{landed.url} (archived as {landed.path})"
        header, rows = parse_page(landed.read_bytes(), location)
        request = request_of(landed.url)
        if int(header["page"]) != request.page:
            raise SourceFormatError(SOURCE, location, f"requested page {request.page} but the body is page {header['page']}")
        if request.page in answers.get(request.key, {}):
            raise SourceFormatError(SOURCE, location, f"page {request.page} is in the landing twice")
        answers.setdefault(request.key, {})[request.page] = (header, rows, location)
        vintage = str(header["lastupdated"])[:10]
        source_file = archived_path(landed)
        seen: dict[tuple[str, int], int] = {}
        for row_index, row in enumerate(rows):
            try:
                indicator = row["indicator"]["id"]
                iso3 = row.get("countryiso3code") or iso2_map.get(row["country"]["id"], "")
                year = int(row["date"])
            except (KeyError, TypeError, ValueError) as exc:
                raise SourceFormatError(SOURCE, location, f"row without indicator/country/date: {exc!r}") from None
            where = f"page {request.page}: a row for {indicator} {iso3 or row.get('country')} {year}"
            if indicator != request.indicator:
                raise SourceFormatError(SOURCE, location, f"{where}, but {request.indicator} was requested (a body for another indicator?)")
            if iso3 not in request.countries:
                raise SourceFormatError(SOURCE, location, f"{where}, but only {';'.join(sorted(request.countries))} were requested")
            if (request.first_year is not None and year < request.first_year) or (request.last_year is not None and year > request.last_year):
                raise SourceFormatError(SOURCE, location, f"{where}, outside the requested years {request.first_year}-{request.last_year}")
            if (iso3, year) in seen:
                raise SourceFormatError(SOURCE, location, f"{where} appears twice")
            seen[(iso3, year)] = request.page
            if iso3 not in wanted or not first_year <= year <= last_year:
                continue  # requested (e.g. by a snapshot of more countries) but not configured
            if iso3 not in known:
                raise SourceFormatError(SOURCE, location, f"unknown country code {iso3!r}")
            value = _parse_value(row.get("value"), location, indicator, iso3, year)
            if value is not None:
                # the page is [header, rows]: the value is at /1/<row>/value
                records.append((iso3, indicator, year, value, vintage, landed.url, landing.fetch_id, source_file,
                                landed.sha256, json_pointer(1, row_index, "value"), printed_text(row.get("value"))))
    for key, pages in answers.items():
        check_answer_complete(pages, f"{landing.path} ({key})")
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
