"""US foreign assistance from ForeignAssistance.gov: the Country Summary CSV and the API by USG sector.

Three kinds of landed file, told apart by name:

* the **Country Summary** bulk CSV (``us_foreign_aid_country*.csv``): obligations, disbursements,
  appropriations and budget requests per country and fiscal year, current and constant dollars.
  Every release revises past years, so each landing is kept as a *vintage* (the later wins in the
  marts). Header styles changed between releases (quoted Title Case, or snake_case in older
  releases); the fiscal year is text (``1976tq`` is the 1976 transition quarter); constant dollars
  are based on a different fiscal year in each release (recorded per row, never comparable across
  releases).
* the **API by USG sector** (``/api/data-api/by-usg-sector.json``): live mode fetches one fiscal
  year per query, every page (``per_page`` at most 1000), JSON ``{"data": [...], "page_info":
  {...}}``. The bundled snapshot holds the same rows transcribed to one CSV
  (``fa_api_by_usg_sector_*.csv``, same field names), so both go through ``sector_rows_frame``.
* the **USG sector taxonomy** (``fa_api_usg_sector_taxonomy.csv``); in live mode it is read off the
  API rows, which carry the names.

A release's *vintage* is the date its data are known to be current (``release_date``). A fiscal
year is *partial* in a release dated less than ``REPORTING_LAG_MONTHS`` after the year ended
(``is_partial_year``): agencies keep reporting a year's transactions for about a year, as the
bundled releases show (HND FY2024 obligations 172.6 m in the April 2025 release, 193.5 m in
November 2025; HND FY2025 102.2 m in November 2025, 142.4 m in the API's data of 2026-09-30).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from urllib.parse import parse_qs, urlencode, urlsplit

import pandas as pd

from orchestration.core.countries import known_iso3
from orchestration.core.errors import SourceFormatError
from orchestration.fetch.archive import Landing, LandedFile, archived_release_dates, stated_release_date
from orchestration.fetch.cells import LINEAGE_COLUMNS, file_columns
from orchestration.fetch.http import check_body_kind
from orchestration.fetch.paging import Answer, Page, PagingContract, check_answer_complete

SOURCE = "foreign_assistance"
SOURCE_ID = "foreign_assistance_gov"
LICENCE = "US Government work (public domain); cite ForeignAssistance.gov"

SECTOR_API_PATH = "/api/data-api/by-usg-sector.json"

REPORTING_LAG_MONTHS = 12
FISCAL_YEAR_END_MONTH, FISCAL_YEAR_END_DAY = 9, 30

# Transaction types as the publisher numbers and names them (Country Summary and API alike).
TRANSACTION_TYPES: dict[int, str] = {
    1: "Appropriated and Planned",
    2: "Obligations",
    3: "Disbursements",
    18: "President's Budget Requests",
}
SPENDING_TYPES = (2, 3)  # what was obligated and disbursed; the others are plans and requests

COUNTRY_SUMMARY_COLUMNS = [
    "country_iso3", "country_name", "transaction_type_id", "transaction_type_name", "fiscal_year",
    "fiscal_year_label", "current_amount", "constant_amount", "constant_dollars_base_year",
    "is_partial_year", "vintage", "source_url", "fetch_id", *LINEAGE_COLUMNS,
]
SECTOR_AMOUNT_COLUMNS = [
    "country_iso3", "fiscal_year", "usg_category_id", "usg_category_name", "usg_sector_id", "usg_sector_name",
    "transaction_type_id", "transaction_type_name", "current_amount", "is_partial_year", "vintage",
    "source_url", "fetch_id",
]
SECTOR_COLUMNS = ["usg_sector_id", "usg_sector_name", "usg_category_id", "usg_category_name", "vintage", "fetch_id"]

# The Country Summary columns the parser needs, by their normalised header name.
COUNTRY_SUMMARY_REQUIRED = (
    "country_code", "country_name", "transaction_type_id", "transaction_type_name", "fiscal_year",
    "current_amount", "constant_amount",
)
SECTOR_ROW_REQUIRED = (
    "country_code", "fiscal_year", "usg_category_id", "usg_category_name", "usg_sector_id",
    "usg_sector_name", "transaction_type_id", "current_amount",
)
TAXONOMY_REQUIRED = ("usg_sector_id", "usg_sector_name", "usg_category_id", "usg_category_name")

_FISCAL_YEAR = re.compile(r"^(\d{4})(tq)?$", re.IGNORECASE)
_INTEGER = re.compile(r"^-?\d+$")


# ---------------------------------------------------------------- small pure parsers, one per quirk


def normalise_header(names: list[str]) -> list[str]:
    """Header names of either release style as snake_case: ``"Fiscal Year"`` and ``fiscal_year`` alike."""
    return ["_".join(str(name).strip().lower().split()) for name in names]


def parse_fiscal_year(text: str, location: str) -> tuple[int, bool]:
    """``"2024"`` -> (2024, False); ``"1976tq"`` (the July-September 1976 transition quarter) -> (1976, True)."""
    match = _FISCAL_YEAR.match(str(text).strip())
    if not match:
        raise SourceFormatError(SOURCE, location, f"fiscal year {text!r} is neither YYYY nor YYYYtq")
    return int(match.group(1)), match.group(2) is not None


def parse_amount(text, location: str, what: str) -> int | None:
    """A whole number of US dollars as published (negative for de-obligations); empty means no value."""
    if isinstance(text, int) and not isinstance(text, bool):
        return text
    cleaned = str(text).strip() if text is not None else ""
    if cleaned == "":
        return None
    if not _INTEGER.match(cleaned):
        raise SourceFormatError(SOURCE, location, f"{what}: amount {text!r} is not a whole number of dollars")
    return int(cleaned)


def transaction_type_name(type_id, published_name: str | None, location: str) -> tuple[int, str]:
    """The known transaction type of an id; a published name that disagrees with the id raises."""
    try:
        number = int(str(type_id).strip())
    except ValueError:
        raise SourceFormatError(SOURCE, location, f"transaction type id {type_id!r} is not a number") from None
    if number not in TRANSACTION_TYPES:
        raise SourceFormatError(SOURCE, location, f"unknown transaction type id {number} ({published_name!r})")
    expected = TRANSACTION_TYPES[number]
    if published_name not in (None, "") and published_name.strip() != expected:
        raise SourceFormatError(SOURCE, location, f"transaction type {number} is named {published_name!r}, expected {expected!r}")
    return number, expected


def release_date(landed: LandedFile, landing: Landing, dated_content: dict[str, dt.date] | None = None) -> dt.date:
    """The date a landed file's data are known to be current, from what the publisher says or from
    the content itself, never from when it happened to be fetched:

    1. the publisher's Last-Modified, else the release date in the landing's manifest (snapshots);
    2. else the date the archive knows these exact bytes by (``dated_content``, from
       ``transport.archived_release_dates``: an earlier copy's Last-Modified or snapshot date, else the
       day they were first received). An old release served again without a date keeps its date;
       re-fetching unchanged bytes never makes them newer. (Neither the Country Summary CSV nor the
       API's JSON states an "as of" date of its own.)"""
    stated = stated_release_date(landed, landing)
    if stated is not None:
        return stated
    if dated_content and landed.sha256 in dated_content:
        return dated_content[landed.sha256]
    raise SourceFormatError(SOURCE, f"{landed.url} (archived as {landed.path})",
                            f"cannot tell the release date: no Last-Modified, no release date in the manifest, and these bytes "
                            f"(sha256 {landed.sha256[:12]}) are in no archived landing")


def is_partial_year(fiscal_year: int, released: dt.date) -> bool:
    """A fiscal year (ending 30 September) is partial in a release dated less than the reporting lag after its end."""
    complete_from = dt.date(fiscal_year + REPORTING_LAG_MONTHS // 12, FISCAL_YEAR_END_MONTH, FISCAL_YEAR_END_DAY)
    return released < complete_from


def constant_dollar_base_year(rows: pd.DataFrame, location: str) -> int:
    """The fiscal year whose constant dollars equal current dollars on every obligation and disbursement
    row: the release's base year (a file holds one base year; the publisher does not state it)."""
    spending = rows[rows["transaction_type_id"].isin(SPENDING_TYPES) & rows["current_amount"].ne(0) & rows["constant_amount"].notna()]
    equal_by_year = spending["current_amount"].eq(spending["constant_amount"]).groupby(spending["fiscal_year"]).all()
    candidates = sorted(int(year) for year in equal_by_year[equal_by_year].index)
    if len(candidates) != 1:
        raise SourceFormatError(SOURCE, location, f"cannot tell the constant-dollar base year (candidates {candidates})")
    return candidates[0]


def _require_columns(found: list[str], required: tuple[str, ...], location: str) -> None:
    missing = [name for name in required if name not in found]
    if missing:
        raise SourceFormatError(SOURCE, location, f"header lacks column(s) {missing} (found {found}); renamed by the publisher?")


def _read_csv_text(body: bytes, location: str) -> pd.DataFrame:
    check_body_kind(SOURCE, location, body, "csv")
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceFormatError(SOURCE, location, f"not UTF-8 text ({exc})") from None
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise SourceFormatError(SOURCE, location, f"not a readable CSV ({exc}); truncated download?") from None
    frame.columns = normalise_header(list(frame.columns))
    return frame


# ---------------------------------------------------------------- Country Summary


def record_lines(text: str) -> tuple[list[str], list[int]]:
    """(the header as written, the 1-based file line each data record starts on), in the order
    pandas reads the records (blank lines skipped, a quoted field may span lines)."""
    reader = csv.reader(io.StringIO(text))
    header, starts, previous_end = [], [], 0
    for record in reader:
        start, previous_end = previous_end + 1, reader.line_num
        if not record:
            continue  # a blank line: pandas skips it too
        if not header:
            header = record
        else:
            starts.append(start)
    return header, starts


def parse_country_summary(body: bytes, location: str, countries: tuple[str, ...], first_year: int,
                          released: dt.date, source_url: str, fetch_id: str, landed: LandedFile | None = None) -> pd.DataFrame:
    """One row per country, transaction type and fiscal year of one Country Summary release; with
    ``landed``, each row's current_amount cell (file, line and column as written) for kpi_lineage."""
    table = _read_csv_text(body, location)
    _require_columns(list(table.columns), COUNTRY_SUMMARY_REQUIRED, location)
    if table.empty:
        raise SourceFormatError(SOURCE, location, "the Country Summary has no rows")
    # a truncated download ends in a short last line: pandas pads it with empty fields
    if (table.iloc[-1][list(COUNTRY_SUMMARY_REQUIRED)] == "").any():
        raise SourceFormatError(SOURCE, location, f"last row {table.iloc[-1].tolist()} is incomplete; truncated download?")
    header, lines = record_lines(body.decode("utf-8-sig"))
    if len(lines) != len(table):
        raise SourceFormatError(SOURCE, location, f"{len(lines)} CSV records but {len(table)} rows read")
    amount_header = header[list(table.columns).index("current_amount")]
    records = []
    for row in table.itertuples(index=False):
        where = f"{location} ({row.country_code} FY{row.fiscal_year} {row.transaction_type_name})"
        year, transition_quarter = parse_fiscal_year(row.fiscal_year, where)
        type_id, type_name = transaction_type_name(row.transaction_type_id, row.transaction_type_name, where)
        current = parse_amount(row.current_amount, where, "current_amount")
        constant = parse_amount(row.constant_amount, where, "constant_amount")
        records.append((row.country_code.strip(), row.country_name.strip(), type_id, type_name, year, transition_quarter,
                        str(row.fiscal_year).strip(), current, constant, row.current_amount))
    every = pd.DataFrame.from_records(records, columns=[
        "country_iso3", "country_name", "transaction_type_id", "transaction_type_name", "fiscal_year",
        "transition_quarter", "fiscal_year_label", "current_amount", "constant_amount", "original_text"])
    every["source_location"] = [f"line={line};column={amount_header}" for line in lines]
    every["constant_amount"] = every["constant_amount"].astype("Int64")
    # the base year is read off the whole file (every country), before filtering
    base_year = constant_dollar_base_year(every[~every["transition_quarter"]], location)
    wanted = every[every["country_iso3"].isin(countries) & every["fiscal_year"].ge(first_year)
                   & ~every["transition_quarter"] & every["current_amount"].notna()].copy()
    unknown = sorted(set(wanted["country_iso3"]) - known_iso3())
    if unknown:
        raise SourceFormatError(SOURCE, location, f"unknown country code(s) {unknown}")
    wanted["current_amount"] = wanted["current_amount"].astype("int64")
    wanted["constant_dollars_base_year"] = base_year
    wanted["is_partial_year"] = [is_partial_year(year, released) for year in wanted["fiscal_year"]]
    wanted["vintage"] = released
    wanted["source_url"] = source_url
    wanted["fetch_id"] = fetch_id
    archived = file_columns(landed) if landed is not None else {"source_file": None, "file_sha256": None}
    wanted["source_file"] = archived["source_file"]
    wanted["file_sha256"] = archived["file_sha256"]
    return _typed(wanted[COUNTRY_SUMMARY_COLUMNS])


# ---------------------------------------------------------------- API by USG sector


def sector_rows_frame(rows: list[dict], location: str, countries: tuple[str, ...], first_year: int,
                      released: dt.date, source_url: str, fetch_id: str) -> pd.DataFrame:
    """API rows (dicts with the API's field names, from JSON pages or the snapshot's CSV) as a frame."""
    records = []
    for index, row in enumerate(rows):
        missing = [name for name in SECTOR_ROW_REQUIRED if name not in row]
        if missing:
            raise SourceFormatError(SOURCE, location, f"row {index} lacks field(s) {missing}; renamed by the publisher?")
        where = f"{location} (row {index}: {row['country_code']} FY{row['fiscal_year']} sector {row['usg_sector_id']})"
        year, transition_quarter = parse_fiscal_year(row["fiscal_year"], where)
        if row["country_code"] not in countries or year < first_year or transition_quarter:
            continue
        type_id, type_name = transaction_type_name(row["transaction_type_id"], row.get("transaction_type_name"), where)
        amount = parse_amount(row["current_amount"], where, "current_amount")
        if amount is None:
            continue
        records.append((row["country_code"], year, _int(row["usg_category_id"], where), str(row["usg_category_name"]).strip(),
                        _int(row["usg_sector_id"], where), str(row["usg_sector_name"]).strip(), type_id, type_name, amount,
                        is_partial_year(year, released), released, source_url, fetch_id))
    return _typed(pd.DataFrame.from_records(records, columns=SECTOR_AMOUNT_COLUMNS))


def parse_sector_page(body: bytes, location: str) -> tuple[dict, list[dict]]:
    """``page_info`` and rows of one API page."""
    check_body_kind(SOURCE, location, body, "json")
    try:
        payload = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SourceFormatError(SOURCE, location, f"response is not valid JSON ({exc}); truncated download?") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), list) or not isinstance(payload.get("page_info"), dict):
        raise SourceFormatError(SOURCE, location, 'unexpected JSON shape: expected {"data": [...], "page_info": {...}}')
    page_info = payload["page_info"]
    for key in ("current_page", "total_pages", "total_records"):
        if not isinstance(page_info.get(key), int):
            raise SourceFormatError(SOURCE, location, f"page_info has no integer {key!r}")
    return page_info, payload["data"]


# What the API's page_info states: no page size, so a short page shows in the total.
PAGING = PagingContract(page_field="current_page", pages_field="total_pages", total_field="total_records")


def check_pages_complete(pages: dict[int, tuple[dict, list[dict]]], location: str,
                         page_locations: dict[int, str] | None = None) -> None:
    """Every page of one query is whole (orchestration/fetch/paging.py): all present, agreeing on the
    totals, together holding ``total_records`` rows, no page or row repeated."""
    answer = Answer(location, {number: Page(number, info, rows, (page_locations or {}).get(number) or f"{location} page {number}")
                               for number, (info, rows) in pages.items()})
    check_answer_complete(SOURCE, PAGING, answer, location)


def _sector_query(url: str) -> tuple[str, int, dict[str, str]]:
    """(query without its page, page number, the query's parameters) of an API page's URL."""
    query = {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}
    page = int(query.pop("page", "1"))
    return urlencode(sorted(query.items())), page, query


def sector_api_rows(files: list[LandedFile]) -> list[tuple[LandedFile, list[dict]]]:
    """The rows of every landed API page, after checking each query's pages are all there, agree and
    differ, and that every row is for the fiscal year the query asked for."""
    by_query: dict[str, dict[int, tuple[dict, list[dict]]]] = {}
    locations: dict[str, dict[int, str]] = {}
    rows_by_file = []
    for landed in files:
        location = f"{landed.url} (archived as {landed.path})"
        info, rows = parse_sector_page(landed.read_bytes(), location)
        key, page, query = _sector_query(landed.url)
        if info["current_page"] != page and info["total_pages"] > 0:
            raise SourceFormatError(SOURCE, location, f"requested page {page} but the body is page {info['current_page']}")
        if page in by_query.get(key, {}):
            raise SourceFormatError(SOURCE, location, f"page {page} is in the landing twice")
        requested_year = query.get("fiscal_year")
        for index, row in enumerate(rows):
            if requested_year is not None and str(row.get("fiscal_year", "")).strip() != requested_year:
                raise SourceFormatError(SOURCE, location, f"page {page} row {index} is for fiscal year {row.get('fiscal_year')!r}, "
                                                          f"but fiscal year {requested_year} was requested")
        by_query.setdefault(key, {})[page] = (info, rows)
        locations.setdefault(key, {})[page] = location
        rows_by_file.append((landed, rows))
    for key, pages in by_query.items():
        check_pages_complete(pages, f"{SECTOR_API_PATH}?{key}", locations[key])
    return rows_by_file


def taxonomy_frame(rows: list[dict], location: str, released: dt.date, fetch_id: str) -> pd.DataFrame:
    """One row per USG sector with its category; a sector named two ways raises."""
    records = {}
    for row in rows:
        missing = [name for name in TAXONOMY_REQUIRED if name not in row]
        if missing:
            raise SourceFormatError(SOURCE, location, f"sector row lacks field(s) {missing}")
        sector_id = _int(row["usg_sector_id"], location)
        entry = (str(row["usg_sector_name"]).strip(), _int(row["usg_category_id"], location), str(row["usg_category_name"]).strip())
        if records.setdefault(sector_id, entry) != entry:
            raise SourceFormatError(SOURCE, location, f"sector {sector_id} is given as both {records[sector_id]} and {entry}")
    frame = pd.DataFrame.from_records(
        [(sector_id, *entry, released, fetch_id) for sector_id, entry in sorted(records.items())], columns=SECTOR_COLUMNS
    )
    return _typed(frame)


def check_sectors_known(amounts: pd.DataFrame, sectors: pd.DataFrame, location: str) -> None:
    """Every sector row's sector and category are those of the taxonomy of the same release."""
    joined = amounts.merge(sectors, on="usg_sector_id", how="left", suffixes=("", "_taxonomy"))
    unknown = joined[joined["usg_sector_name_taxonomy"].isna()]
    if not unknown.empty:
        raise SourceFormatError(SOURCE, location, f"sector id(s) {sorted(set(unknown['usg_sector_id']))} are not in the sector taxonomy")
    for column in ("usg_sector_name", "usg_category_id", "usg_category_name"):
        differs = joined[joined[column] != joined[f"{column}_taxonomy"]]
        if not differs.empty:
            first = differs.iloc[0]
            raise SourceFormatError(SOURCE, location, f"sector {first['usg_sector_id']}: {column} {first[column]!r} differs from the taxonomy's {first[column + '_taxonomy']!r}")


# ---------------------------------------------------------------- landings


def _is_country_summary(name: str) -> bool:
    return name.startswith("us_foreign_aid_country") and name.endswith(".csv")


def _is_sector_extract(name: str) -> bool:
    return name.startswith("fa_api_by_usg_sector") and name.endswith(".csv")


def _is_taxonomy(name: str) -> bool:
    return name.startswith("fa_api_usg_sector_taxonomy") and name.endswith(".csv")


def _is_sector_page(name: str) -> bool:
    return name.startswith("by-usg-sector") and name.endswith(".json")


def _csv_records(landed: LandedFile) -> tuple[list[dict], str]:
    location = f"{landed.url} (archived as {landed.path})"
    table = _read_csv_text(landed.read_bytes(), location)
    return table.to_dict("records"), location


def parse_landing(landing: Landing, countries: tuple[str, ...], first_year: int,
                  dated_content: dict[str, dt.date] | None = None) -> dict[str, pd.DataFrame]:
    """The three raw frames of one landing (each possibly empty); ``dated_content`` dates files the
    publisher sent without a date (see ``release_date``; by default, the landing's own archive)."""
    if dated_content is None:
        dated_content = archived_release_dates([landing.path.parent.parent], SOURCE)
    summaries, amounts, sectors = [], [], []
    api_pages = []
    for landed in landing.files:
        if _is_sector_page(landed.file):
            api_pages.append(landed)
            continue
        released = release_date(landed, landing, dated_content)
        location = f"{landed.url} (archived as {landed.path})"
        if _is_country_summary(landed.file):
            summaries.append(parse_country_summary(landed.read_bytes(), location, countries, first_year, released, landed.url,
                                                   landing.fetch_id, landed))
        elif _is_sector_extract(landed.file):
            rows, location = _csv_records(landed)
            amounts.append(sector_rows_frame(rows, location, countries, first_year, released, landed.url, landing.fetch_id))
        elif _is_taxonomy(landed.file):
            rows, location = _csv_records(landed)
            sectors.append(taxonomy_frame(rows, location, released, landing.fetch_id))
        else:
            raise SourceFormatError(SOURCE, str(landed.path), "file is neither a Country Summary CSV nor a by-usg-sector response")
    if api_pages:
        # the pages of one fetch are one release: dated by its newest page, so that a day's pages
        # never split into two vintages (and the sector sums over one vintage stay whole)
        pages = sector_api_rows(api_pages)
        released = max(release_date(landed, landing, dated_content) for landed in api_pages)
        all_rows = []
        for landed, rows in pages:
            all_rows.extend(rows)
            amounts.append(sector_rows_frame(rows, landed.url, countries, first_year, released, landed.url, landing.fetch_id))
        if not sectors:  # live: the taxonomy is the one the API rows carry (of every country)
            sectors.append(taxonomy_frame(all_rows, api_pages[0].url.split("?")[0], released, landing.fetch_id))
    frames = {
        "foreign_assistance_country_summary": _concat(summaries, COUNTRY_SUMMARY_COLUMNS),
        "foreign_assistance_usg_sector_amounts": _concat(amounts, SECTOR_AMOUNT_COLUMNS),
        "foreign_assistance_usg_sectors": _concat(sectors, SECTOR_COLUMNS),
    }
    if not frames["foreign_assistance_usg_sector_amounts"].empty:
        if frames["foreign_assistance_usg_sectors"].empty:
            raise SourceFormatError(SOURCE, str(landing.path), "sector amounts without the sector taxonomy")
        check_sectors_known(frames["foreign_assistance_usg_sector_amounts"], frames["foreign_assistance_usg_sectors"], str(landing.path))
    return frames


# ---------------------------------------------------------------- helpers


def _int(value, location: str) -> int:
    try:
        return int(str(value).strip())
    except ValueError:
        raise SourceFormatError(SOURCE, location, f"{value!r} is not an integer id") from None


_DTYPES = {
    "transaction_type_id": "int64", "fiscal_year": "int64", "current_amount": "int64", "constant_amount": "Int64",
    "constant_dollars_base_year": "int64", "is_partial_year": "bool", "usg_category_id": "int64", "usg_sector_id": "int64",
}


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.reset_index(drop=True)
    return frame.astype({column: dtype for column, dtype in _DTYPES.items() if column in frame.columns})


def _concat(frames: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    frames = [frame for frame in frames if not frame.empty]
    if not frames:
        return _typed(pd.DataFrame({column: pd.Series(dtype="object") for column in columns}))
    return _typed(pd.concat(frames, ignore_index=True)[columns])
