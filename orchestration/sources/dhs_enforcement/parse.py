"""DHS OHSS Immigration Enforcement and Legal Processes Monthly Tables (xlsx) -> monthly and
fiscal-year counts per citizenship, one row set per release.

The workbook has ~35 sheets; three are loaded, each found by its title (row 2, the text before
the colon), never by sheet name (sheet names change, e.g. a trailing space):

* ``DHS Removals by Selected Citizenship`` -> measure ``removals`` (ICE and CBP removals; returns
  and Title 42 expulsions are not removals);
* ``ICE ERO Removals and Returns by Selected Citizenship`` -> ``ice_removals_and_returns``;
* ``Nationwide Credible Fear Screenings Referred to USCIS by Selected Citizenship`` ->
  ``credible_fear_referrals``.

Each sheet: a header row ``Fiscal Year | Month | Total | <citizenships...> | Other`` (or ``All
Other``), then per fiscal year one ``Total`` row (the year in column A, the last one as text
``"2024 YTD"``) followed by its month rows (``October`` ... ``September``, column A blank), then
notes. The traps, each handled here:

* every cell is rounded to the nearest 10 by the publisher (totals need not add up);
* the citizenship columns are the top ten of the latest twelve months, so the set changes between
  releases: a country without a column (Nicaragua in the April 2024 removals sheet is inside
  "Other"; Belize or Costa Rica in every table) has no row for that release, never a zero. A
  renamed citizenship is told apart by its column: a configured country without a column while a
  column names a citizenship the warehouse does not know fails the release;
* the last fiscal year is partial, labelled "YTD": ``is_partial_year`` is set, and the marts never
  publish it as a complete year;
* month rows belong to the fiscal-year row above them.

The release (vintage) is the month in the titles, e.g. ``(August 2024)`` -> ``2024-08``; every
release restates the whole history from FY2014.
"""

from __future__ import annotations

import datetime as dt
import io
import re

import pandas as pd

from orchestration.core.countries import iso3_for_name
from orchestration.core.errors import SourceFormatError
from orchestration.fetch.archive import LandedFile, Landing
from orchestration.fetch.cells import LINEAGE_COLUMNS, file_columns, printed_text, workbook_cell
from orchestration.fetch.http import check_body_kind

SOURCE = "dhs_enforcement"
SOURCE_ID = "dhs_ohss_enforcement"
LICENCE = "US Government work (public domain)"

MONTHLY = "dhs_enforcement_monthly"
ANNUAL = "dhs_enforcement_annual"

# sheet title (before the colon) -> measure
TABLES = {
    "DHS Removals by Selected Citizenship": "removals",
    "ICE ERO Removals and Returns by Selected Citizenship": "ice_removals_and_returns",
    "Nationwide Credible Fear Screenings Referred to USCIS by Selected Citizenship": "credible_fear_referrals",
}
FISCAL_MONTHS = ("October", "November", "December", "January", "February", "March", "April", "May", "June",
                 "July", "August", "September")
MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
               "November", "December")
# header cells that are not citizenships: the row total and the publisher's rest-of-the-world group
NON_COUNTRY_COLUMNS = frozenset({"Total", "Other", "All Other"})
TOP_ROWS = 10  # the title and the header are within the first rows of a sheet

_TITLE = re.compile(r"^(?P<table>[^:]+):\s*Fiscal Years? (?P<first>\d{4}) to (?P<last>\d{4})(?: YTD)?\s*"
                    r"\((?P<month>[A-Za-z]+) (?P<year>\d{4})\)\s*$")
_FISCAL_YEAR_LABEL = re.compile(r"^(?P<year>\d{4})(?:\.0)?(?P<ytd>\s+YTD)?$", re.IGNORECASE)
_CURRENT_AS_OF = re.compile(r"current as of (?P<date>[A-Z][a-z]+ \d{1,2}, \d{4})")

MONTHLY_COLUMNS = ["vintage", "measure", "fiscal_year", "fiscal_month", "calendar_year", "calendar_month",
                   "citizenship", "citizenship_code", "persons", "is_partial_year", "source_url", "fetch_id",
                   *LINEAGE_COLUMNS]
ANNUAL_COLUMNS = ["vintage", "measure", "fiscal_year", "citizenship", "citizenship_code", "persons", "months_reported",
                  "is_partial_year", "data_current_as_of", "source_url", "fetch_id", *LINEAGE_COLUMNS]


def _text(value) -> str:
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else " ".join(str(value).split())


def parse_title(text: str) -> tuple[str, str] | None:
    """``"DHS Removals by Selected Citizenship: Fiscal Years 2014 to 2024 YTD (August 2024)"`` ->
    (``"DHS Removals by Selected Citizenship"``, release ``"2024-08"``); None for other text."""
    match = _TITLE.match(_text(text))
    if not match or match.group("month").capitalize() not in MONTH_NAMES:
        return None
    month = MONTH_NAMES.index(match.group("month").capitalize()) + 1
    return match.group("table").strip(), f"{match.group('year')}-{month:02d}"


def parse_fiscal_year_label(value) -> tuple[int, bool]:
    """``2014`` -> (2014, False); ``"2024 YTD"`` -> (2024, True)."""
    match = _FISCAL_YEAR_LABEL.match(_text(value))
    if not match:
        raise ValueError(f"fiscal year {value!r} is not like 2014 or '2024 YTD'")
    return int(match.group("year")), match.group("ytd") is not None


def calendar_of(fiscal_year: int, fiscal_month: int) -> tuple[int, int]:
    """Fiscal month 1 is October of the previous calendar year."""
    calendar_month = (fiscal_month + 8) % 12 + 1
    return (fiscal_year - 1 if calendar_month >= 10 else fiscal_year), calendar_month


def parse_count(value, where: str) -> int | None:
    """A published count: a whole non-negative number, or None for an empty cell (missing, not zero)."""
    if value is None or (isinstance(value, float) and pd.isna(value)) or _text(value) == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: {value!r} is not a number") from None
    if number < 0 or number != int(number):
        raise ValueError(f"{where}: {value!r} is not a whole non-negative count")
    return int(number)


def current_as_of(sheet: pd.DataFrame) -> dt.date | None:
    """The date the notes say the data are current as of, when they say it."""
    for value in sheet.iloc[:, 0]:
        match = _CURRENT_AS_OF.search(_text(value))
        if match:
            return dt.datetime.strptime(match.group("date"), "%B %d, %Y").date()
    return None


def _find_title(sheet: pd.DataFrame) -> tuple[str, str] | None:
    for row in range(min(TOP_ROWS, len(sheet))):
        for value in sheet.iloc[row, :3]:
            parsed = parse_title(value)
            if parsed:
                return parsed
    return None


def _header_row(sheet: pd.DataFrame, location: str) -> int:
    for row in range(min(TOP_ROWS, len(sheet))):
        if [_text(v) for v in sheet.iloc[row, :2]] == ["Fiscal Year", "Month"]:
            return row
    raise SourceFormatError(SOURCE, location, "no header row starting 'Fiscal Year | Month' (layout changed?)")


def parse_table(sheet: pd.DataFrame, location: str, sheet_name: str = "") -> tuple[list[dict], list[dict]]:
    """(annual rows, monthly rows) of one table, every citizenship column as published (name), each
    with its cell (``source_location``, the sheet read from A1) and the cell's text."""
    header_row = _header_row(sheet, location)
    columns = {index: _text(name) for index, name in enumerate(sheet.iloc[header_row]) if index >= 2 and _text(name)}
    if "Total" not in columns.values():
        raise SourceFormatError(SOURCE, location, f"header has no 'Total' column: {list(columns.values())}")
    annual: list[dict] = []
    monthly: list[dict] = []
    fiscal_year = is_ytd = None
    months_seen: set[int] = set()
    for row in range(header_row + 1, len(sheet)):
        first, second = sheet.iloc[row, 0], _text(sheet.iloc[row, 1])
        where = f"row {row + 1}"
        if second == "Total":
            try:
                fiscal_year, is_ytd = parse_fiscal_year_label(first)
            except ValueError as exc:
                raise SourceFormatError(SOURCE, location, f"{where}: {exc}") from None
            if any(r["fiscal_year"] == fiscal_year for r in annual):
                raise SourceFormatError(SOURCE, location, f"{where}: fiscal year {fiscal_year} appears twice")
            months_seen = set()
            target, extra = annual, {}
        elif second in FISCAL_MONTHS:
            if fiscal_year is None:
                raise SourceFormatError(SOURCE, location, f"{where}: month {second!r} before any fiscal-year Total row")
            fiscal_month = FISCAL_MONTHS.index(second) + 1
            if fiscal_month in months_seen:
                raise SourceFormatError(SOURCE, location, f"{where}: {second} appears twice in fiscal year {fiscal_year}")
            months_seen.add(fiscal_month)
            calendar_year, calendar_month = calendar_of(fiscal_year, fiscal_month)
            target, extra = monthly, {"fiscal_month": fiscal_month, "calendar_year": calendar_year, "calendar_month": calendar_month}
        elif second == "" and _text(first) == "" or _text(first).startswith(("Notes", "Note:", "Source")):
            continue  # blank spacer rows and the footnotes under the table
        else:
            raise SourceFormatError(SOURCE, location, f"{where}: unexpected row {_text(first)!r} | {second!r} "
                                                      "(neither a fiscal-year Total row nor a month)")
        for index, name in columns.items():
            try:
                count = parse_count(sheet.iloc[row, index], f"{where}, column {name!r}")
            except ValueError as exc:
                raise SourceFormatError(SOURCE, location, str(exc)) from None
            if count is not None:
                target.append({"fiscal_year": fiscal_year, "is_ytd_label": is_ytd, "citizenship": name, "persons": count,
                               "source_location": workbook_cell(sheet_name, row, index),
                               "original_text": printed_text(sheet.iloc[row, index]), **extra})
    if not annual:
        raise SourceFormatError(SOURCE, location, "no fiscal-year Total rows under the header")
    return annual, monthly


def read_workbook(body: bytes, location: str) -> dict[str, pd.DataFrame]:
    check_body_kind(SOURCE, location, body, "xlsx")
    try:
        return pd.read_excel(io.BytesIO(body), sheet_name=None, header=None, engine="calamine")
    except Exception as exc:  # calamine raises its own error types for corrupt zips and XML
        raise SourceFormatError(SOURCE, location, f"workbook cannot be read: {type(exc).__name__}: {exc}") from None


def _countries_only(rows: list[dict], countries: tuple[str, ...]) -> list[dict]:
    kept = []
    for row in rows:
        if row["citizenship"] in NON_COUNTRY_COLUMNS:
            continue
        code = iso3_for_name(row["citizenship"])
        if code in countries:
            kept.append({**row, "citizenship_code": code})
    return kept


def unknown_citizenships(sheet_name: str, rows: list[dict]) -> set[str]:
    """The citizenship columns of a table that name no country the warehouse knows, as 'name' (sheet)."""
    return {f"{row['citizenship']!r} ({sheet_name.strip()})" for row in rows
            if row["citizenship"] not in NON_COUNTRY_COLUMNS and iso3_for_name(row["citizenship"]) is None}


def parse_workbook(body: bytes, landed: LandedFile, fetch_id: str, countries: tuple[str, ...]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(monthly, annual) rows of the configured countries from one release's workbook."""
    location = f"{landed.url} (archived as {landed.path})"
    sheets = read_workbook(body, location)
    found: dict[str, tuple[str, pd.DataFrame, str]] = {}
    for sheet_name, sheet in sheets.items():
        titled = _find_title(sheet)
        if titled and titled[0] in TABLES:
            table, release = titled
            if table in found:
                raise SourceFormatError(SOURCE, location, f"two sheets are titled {table!r}: {found[table][2]!r} and {sheet_name!r}")
            found[table] = (release, sheet, sheet_name)
    missing = sorted(set(TABLES) - set(found))
    if missing:
        raise SourceFormatError(SOURCE, location, f"no sheet titled {missing} (renamed table?)")
    releases = {release for release, _, _ in found.values()}
    if len(releases) != 1:
        raise SourceFormatError(SOURCE, location, f"the tables name different releases: {sorted(releases)}")
    vintage = releases.pop()
    annual_parts, monthly_parts, seen_codes, unknown = [], [], set(), set()
    for table, (_, sheet, sheet_name) in found.items():
        where = f"{location}, sheet {sheet_name!r}"
        parsed_annual, monthly = parse_table(sheet, where, sheet_name)
        months_reported: dict[int, int] = {}
        for row in monthly:
            months_reported.setdefault(row["fiscal_year"], set()).add(row["fiscal_month"])
        months_reported = {year: len(months) for year, months in months_reported.items()}
        common = {"vintage": vintage, "measure": TABLES[table], "source_url": landed.url, "fetch_id": fetch_id,
                  **file_columns(landed)}
        annual = [{**row, **common, "months_reported": months_reported.get(row["fiscal_year"], 0),
                   "data_current_as_of": current_as_of(sheet)} for row in _countries_only(parsed_annual, countries)]
        monthly = [{**row, **common} for row in _countries_only(monthly, countries)]
        seen_codes |= {row["citizenship_code"] for row in annual}
        unknown |= unknown_citizenships(sheet_name, parsed_annual)
        annual_parts += annual
        monthly_parts += monthly
    unseen = sorted(set(countries) - seen_codes)
    if unseen and unknown:
        raise SourceFormatError(SOURCE, location, f"no table has a column for {unseen}, and columns name citizenships the "
                                                  f"warehouse does not know: {sorted(unknown)} (renamed citizenship? add "
                                                  "its spelling to dbt_project/seeds/country_aliases.csv)")
    return _monthly_frame(monthly_parts), _annual_frame(annual_parts)


def _monthly_frame(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=[*MONTHLY_COLUMNS, "is_ytd_label"])
    frame["is_partial_year"] = frame["is_ytd_label"].astype(bool)
    return _typed(frame[MONTHLY_COLUMNS])


def _annual_frame(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=[*ANNUAL_COLUMNS, "is_ytd_label"])
    frame["is_partial_year"] = frame["is_ytd_label"].astype(bool)
    return _typed(frame[ANNUAL_COLUMNS])


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.reset_index(drop=True)
    for column in ("fiscal_year", "fiscal_month", "calendar_year", "calendar_month", "persons", "months_reported"):
        if column in frame:
            frame[column] = frame[column].astype("int64")
    frame["is_partial_year"] = frame["is_partial_year"].astype(bool)
    return frame


def parse_landings(landings: list[Landing], countries: tuple[str, ...], first_year: int) -> dict[str, pd.DataFrame]:
    """Every landed workbook (landing pages, archived beside them by live fetches, are skipped)."""
    monthly_parts, annual_parts = [], []
    for landing in landings:
        for landed in landing.files:
            if landed.file.lower().endswith(".xlsx"):
                monthly, annual = parse_workbook(landed.read_bytes(), landed, landing.fetch_id, countries)
                monthly_parts.append(monthly)
                annual_parts.append(annual)
            elif not landed.file.lower().endswith(".html"):
                raise SourceFormatError(SOURCE, str(landed.path), "unexpected file: expected the tables' .xlsx workbook")
    monthly = _combine(monthly_parts, MONTHLY_COLUMNS)
    annual = _combine(annual_parts, ANNUAL_COLUMNS)
    return {MONTHLY: monthly[monthly["fiscal_year"] >= first_year].reset_index(drop=True),
            ANNUAL: annual[annual["fiscal_year"] >= first_year].reset_index(drop=True)}


def _combine(frames: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    """The same release landed twice collapses; rows that differ stay for the suites' key checks."""
    if not frames:
        return _typed(pd.DataFrame({column: pd.Series(dtype="object") for column in columns}).assign(is_partial_year=False))
    value_columns = [column for column in columns if column not in ("source_url", "fetch_id", *LINEAGE_COLUMNS)]
    return pd.concat(frames, ignore_index=True).drop_duplicates(subset=value_columns).reset_index(drop=True)
