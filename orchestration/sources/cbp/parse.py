"""US border encounters: the DHS OHSS Border Patrol workbook and CBP's Southwest border CSV.

Two publisher files, one source module (landing directory ``cbp``):

* **OHSS workbook** (``KHSM Encounters (USBP) fy25m11.xlsx``, DHS Office of Homeland Security
  Statistics, Key Homeland Security Metrics): U.S. Border Patrol encounters only, fiscal years
  from 2000, annual and monthly sheets by region (Southwest Land Border, Northern Land Border,
  Coastal Border), citizenship, family status and sector. Every value is rounded to 10 by the
  publisher. The sheets are found by their header row (the headers contain newlines, e.g.
  ``"Fiscal\\nYear"``), never by position. Only the citizenship sheets are loaded (region x
  citizenship, annual and monthly): the family-status and sector sheets are not broken down by
  citizenship, so they cannot feed a per-country figure.
* **CBP CSV** (``sbo-encounters-fy22-fy25-aug.csv``): Southwest land border encounters from
  FY2022, monthly, by component (U.S. Border Patrol and Office of Field Operations), demographic,
  citizenship group (El Salvador, Guatemala, Honduras, Mexico, Other), title of authority and
  encounter type; exact counts. The current year is labelled ``"2025 (FYTD)"``.

The ``border_encounters`` KPI is the OHSS annual **Southwest Land Border** figure per citizenship
and complete fiscal year (one definition, Border Patrol only, since FY2000). The CBP CSV adds
Office of Field Operations encounters (inadmissibles at ports of entry) from FY2022, so its
totals are larger; it feeds the detail facts, never the KPI.

Citizenship names: a name becomes an ISO3 code through ``iso3_for_name`` (the one place names are
harmonised); rows of countries outside ``settings.countries`` are dropped. CBP's closed list also
has the publisher's group "Other" (every citizenship but the four named ones), kept as the group
code ``OTHER`` so that the groups add up to the border total; a CBP name that is neither a known
country nor a known group fails the load. The OHSS list names ~150 citizenships, so unknown names
there are simply other countries (dropped), but each configured country must appear somewhere in
the workbook, or the load fails (a renamed citizenship would otherwise vanish silently).

Partial years: an OHSS fiscal year is partial when its monthly sheet has fewer than 12 months
(decided from the data, not from a calendar); a CBP year is partial when labelled "(FYTD)".

Vintage: the publisher's file name without extension (e.g. ``KHSM_Encounters_USBP_fy25m11``),
which names the release; every release restates the whole history.
"""

from __future__ import annotations

import io
import re
from pathlib import PurePosixPath

import numpy as np
import pandas as pd

from orchestration.core.countries import iso3_for_name
from orchestration.core.errors import SourceFormatError
from orchestration.fetch.archive import LandedFile, Landing
from orchestration.fetch.cells import LINEAGE_COLUMNS, column_letter, file_columns, printed_text
from orchestration.fetch.http import check_body_kind

SOURCE = "cbp"
SOURCE_ID = "dhs_ohss_encounters"  # the KPI's source (seeds/dim_kpi_definitions.csv)
LICENCE = "US Government work (public domain)"
FIRST_FISCAL_YEAR = 2000

# Publisher groups that stand for several citizenships; kept beside the configured countries.
CITIZENSHIP_GROUPS = {"Other": "OTHER"}

# OHSS header names after whitespace (including the newline in "Fiscal\nYear") is collapsed.
OHSS_MONTHLY_HEADERS = ("Fiscal Year", "Month", "Region", "Citizenship", "Quantity")
OHSS_ANNUAL_HEADERS = ("Fiscal Year", "Region", "Citizenship", "Quantity")
HEADER_SEARCH_ROWS = 20

CBP_HEADERS = {
    "Fiscal Year": "fiscal_year_label",
    "Month (abbv)": "month_abbv",
    "Component": "component",
    "Demographic": "demographic",
    "Citizenship Grouping": "citizenship",
    "Title of Authority": "title_of_authority",
    "Encounter Type": "encounter_type",
    "Encounter Count": "encounters",
}

MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
               "October", "November", "December")
MONTH_ABBREVIATIONS = tuple(name[:3].upper() for name in MONTH_NAMES)

OHSS_MONTHLY_COLUMNS = ["fiscal_year", "fiscal_month", "calendar_year", "calendar_month", "region", "citizenship",
                        "citizenship_code", "encounters", "is_partial_year", "vintage", "source_url", "fetch_id",
                        *LINEAGE_COLUMNS]
OHSS_ANNUAL_COLUMNS = ["fiscal_year", "region", "citizenship", "citizenship_code", "encounters", "months_reported",
                       "is_partial_year", "vintage", "source_url", "fetch_id", *LINEAGE_COLUMNS]
CBP_COLUMNS = ["fiscal_year", "fiscal_month", "calendar_year", "calendar_month", "component", "demographic",
               "citizenship", "citizenship_code", "title_of_authority", "encounter_type", "encounters",
               "is_partial_year", "vintage", "source_url", "fetch_id"]

OHSS_MONTHLY = "cbp_ohss_encounters_monthly"
OHSS_ANNUAL = "cbp_ohss_encounters_annual"
CBP_MONTHLY = "cbp_sbo_encounters_monthly"


# --- small pure helpers, one per quirk -------------------------------------------------------

def normalise_header(value) -> str:
    """``"Fiscal\\nYear"`` -> ``"Fiscal Year"``: the workbook breaks header cells over lines."""
    return " ".join(str(value).split()) if value is not None and not pd.isna(value) else ""


def find_header_row(sheet: pd.DataFrame, required: tuple[str, ...]) -> int | None:
    """Index of the first row (of the top rows) whose cells hold exactly ``required``, else None."""
    for index in range(min(HEADER_SEARCH_ROWS, len(sheet))):
        cells = [normalise_header(value) for value in sheet.iloc[index]]
        if tuple(cell for cell in cells if cell) == required:
            return index
    return None


def table_with_headers(sheets: dict[str, pd.DataFrame], required: tuple[str, ...], location: str) -> pd.DataFrame:
    """The one sheet whose header row is ``required``, as a frame with those column names."""
    matches = [(name, row) for name, sheet in sheets.items() if (row := find_header_row(sheet, required)) is not None]
    if not matches:
        seen = "; ".join(f"{name!r}: {[normalise_header(v) for v in sheet.iloc[0] if normalise_header(v)]}"
                         for name, sheet in sheets.items() if len(sheet))
        raise SourceFormatError(SOURCE, location, f"no sheet has the header row {list(required)} (renamed column?); sheets seen: {seen}")
    if len(matches) > 1:
        raise SourceFormatError(SOURCE, location, f"several sheets have the header row {list(required)}: {[m[0] for m in matches]}")
    name, header_row = matches[0]
    sheet = sheets[name]
    body = sheet.iloc[header_row + 1:]
    columns = [normalise_header(value) for value in sheet.iloc[header_row]]
    body = body.set_axis(columns, axis=1)[list(required)].dropna(how="all")
    # where each Quantity is: the sheet is read from A1, so its 0-based row index is the sheet row - 1
    quantity_column = column_letter(columns.index("Quantity")) if "Quantity" in columns else None
    locations = [f"sheet={name};cell={quantity_column}{row + 1}" for row in body.index] if quantity_column else None
    return body.reset_index(drop=True).assign(_sheet=name, _location=locations)


def parse_ohss_month(label: str) -> tuple[int, int]:
    """``"01 October"`` -> (fiscal month 1, calendar month 10); the number and the name must agree."""
    match = re.fullmatch(r"(\d{1,2})\s+([A-Za-z]+)", str(label).strip())
    if not match or match.group(2).capitalize() not in MONTH_NAMES:
        raise ValueError(f"month {label!r} is not like '01 October'")
    fiscal_month = int(match.group(1))
    calendar_month = MONTH_NAMES.index(match.group(2).capitalize()) + 1
    if calendar_to_fiscal_month(calendar_month) != fiscal_month:
        raise ValueError(f"month {label!r}: {match.group(2)} is not fiscal month {fiscal_month}")
    return fiscal_month, calendar_month


def parse_cbp_month(abbreviation: str) -> tuple[int, int]:
    """``"OCT"`` -> (fiscal month 1, calendar month 10)."""
    key = str(abbreviation).strip().upper()
    if key not in MONTH_ABBREVIATIONS:
        raise ValueError(f"month {abbreviation!r} is not a three-letter month abbreviation")
    calendar_month = MONTH_ABBREVIATIONS.index(key) + 1
    return calendar_to_fiscal_month(calendar_month), calendar_month


def calendar_to_fiscal_month(calendar_month: int) -> int:
    """US fiscal years run October-September: October is fiscal month 1."""
    return (calendar_month - 10) % 12 + 1


def calendar_year_of(fiscal_year: int, calendar_month: int) -> int:
    """October-December belong to the fiscal year named after the following calendar year."""
    return fiscal_year - 1 if calendar_month >= 10 else fiscal_year


def parse_fiscal_year_label(label) -> tuple[int, bool]:
    """``"2025 (FYTD)"`` -> (2025, True); ``"2024"`` or 2024 -> (2024, False)."""
    match = re.fullmatch(r"(\d{4})(?:\.0)?\s*(\(FYTD\))?", str(label).strip(), flags=re.IGNORECASE)
    if not match:
        raise ValueError(f"fiscal year {label!r} is not like '2024' or '2025 (FYTD)'")
    return int(match.group(1)), match.group(2) is not None


def classify_citizenship(name: str, groups: dict[str, str]) -> str | None:
    """ISO3 code of a country, the code of a known publisher group, or None when unknown."""
    cleaned = " ".join(str(name).split())
    return groups.get(cleaned) or iso3_for_name(cleaned)


def vintage_of(landed: LandedFile) -> str:
    """The release a file belongs to: its publisher file name without the extension."""
    return PurePosixPath(landed.file).stem


def _convert(series: pd.Series, convert, location: str, what: str) -> list:
    """``convert``'s result for every row (see ``_convert_distinct``), as a list."""
    codes, results = _convert_distinct(series, convert, location, what)
    return [results[code] for code in codes]


def _convert_distinct(series: pd.Series, convert, location: str, what: str) -> tuple[np.ndarray, list]:
    """``convert`` applied once per distinct value (labels repeat thousands of times): (codes, results),
    row i's result being ``results[codes[i]]``. The first value it rejects (in the order values
    first appear) fails the load with its data row number."""
    codes, distinct = pd.factorize(series, use_na_sentinel=False)
    results = []
    for position, value in enumerate(distinct):
        try:
            results.append(convert(value))
        except ValueError as exc:
            row = int((codes == position).argmax()) + 1
            raise SourceFormatError(SOURCE, location, f"{what}, data row {row}: {exc}") from None
    return codes, results


def _collapse_whitespace(series: pd.Series) -> pd.Series:
    """``" ".join(value.split())`` of every value, computed once per distinct value."""
    codes, distinct = pd.factorize(series, use_na_sentinel=False)
    collapsed = pd.array([" ".join(value.split()) for value in distinct], dtype=series.dtype)
    return pd.Series(collapsed.take(codes), index=series.index, name=series.name)


def parse_counts(series: pd.Series, location: str, what: str) -> pd.Series:
    """Non-negative whole counts; a float cell such as 8650.0 is accepted, 8650.5, "" or "n/a" is not."""
    numbers = pd.to_numeric(series, errors="coerce")
    bad = numbers.isna() | (numbers < 0) | (numbers.fillna(0) % 1 != 0)
    if bad.any():
        row = int(bad.to_numpy().argmax())
        raise SourceFormatError(SOURCE, location, f"{what}, data row {row + 1}: count {series.iloc[row]!r} is not a non-negative whole number")
    return numbers.astype("int64").reset_index(drop=True)


# --- OHSS workbook -------------------------------------------------------------------------------

def read_workbook(body: bytes, location: str) -> dict[str, pd.DataFrame]:
    check_body_kind(SOURCE, location, body, "xlsx")
    try:
        return pd.read_excel(io.BytesIO(body), sheet_name=None, header=None, engine="calamine")
    except Exception as exc:  # calamine raises its own error types for corrupt zips and XML
        raise SourceFormatError(SOURCE, location, f"workbook cannot be read: {type(exc).__name__}: {exc}") from None


def _ohss_common(table: pd.DataFrame, location: str) -> pd.DataFrame:
    """Typed fiscal year, region, citizenship and count columns of an OHSS citizenship sheet."""
    sheet = f"sheet {table['_sheet'].iloc[0]!r}" if len(table) else "sheet"
    return pd.DataFrame({
        "fiscal_year": _convert(table["Fiscal Year"], lambda v: parse_fiscal_year_label(v)[0], location, sheet),
        "region": table["Region"].map(lambda v: " ".join(str(v).split())),
        "citizenship": table["Citizenship"].map(lambda v: " ".join(str(v).split())),
        "encounters": parse_counts(table["Quantity"], location, sheet),
        "source_location": table["_location"],
        "original_text": table["Quantity"].map(printed_text),
    })


def months_per_fiscal_year(monthly: pd.DataFrame) -> dict[int, int]:
    """How many distinct months the publisher reports for each fiscal year (any row at all)."""
    return monthly.groupby("fiscal_year")["fiscal_month"].nunique().astype(int).to_dict()


def _keep_countries(frame: pd.DataFrame, countries: tuple[str, ...], location: str) -> pd.DataFrame:
    codes = {name: classify_citizenship(name, {}) for name in frame["citizenship"].unique()}
    frame = frame.assign(citizenship_code=frame["citizenship"].map(codes))
    missing = sorted(set(countries) - set(codes.values()))
    if missing:
        raise SourceFormatError(
            SOURCE, location,
            f"no citizenship in the workbook maps to the configured countries {missing} (a renamed citizenship? "
            "add its spelling to dbt_project/seeds/country_aliases.csv)")
    return frame[frame["citizenship_code"].isin(countries)]


def parse_ohss_workbook(body: bytes, landed: LandedFile, fetch_id: str,
                        countries: tuple[str, ...]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(monthly, annual) region x citizenship rows of the configured countries, FY2000 onward."""
    location = f"{landed.url} (archived as {landed.path})"
    sheets = read_workbook(body, location)
    monthly_table = table_with_headers(sheets, OHSS_MONTHLY_HEADERS, location)
    annual_table = table_with_headers(sheets, OHSS_ANNUAL_HEADERS, location)

    monthly = _ohss_common(monthly_table, location)
    month_pairs = _convert(monthly_table["Month"], parse_ohss_month, location, f"sheet {monthly_table['_sheet'].iloc[0]!r}")
    monthly["fiscal_month"] = [pair[0] for pair in month_pairs]
    monthly["calendar_month"] = [pair[1] for pair in month_pairs]
    months_reported = months_per_fiscal_year(monthly)  # before filtering: every citizenship counts

    annual = _ohss_common(annual_table, location)
    unknown_years = sorted(set(annual["fiscal_year"]) - set(months_reported))
    if unknown_years:
        raise SourceFormatError(SOURCE, location, f"annual sheet has fiscal years {unknown_years} that the monthly sheet lacks")

    provenance = {"vintage": vintage_of(landed), "source_url": landed.url, "fetch_id": fetch_id, **file_columns(landed)}
    monthly = _keep_countries(monthly[monthly["fiscal_year"] >= FIRST_FISCAL_YEAR], countries, location)
    monthly = monthly.assign(
        calendar_year=[calendar_year_of(fy, m) for fy, m in zip(monthly["fiscal_year"], monthly["calendar_month"])],
        is_partial_year=monthly["fiscal_year"].map(months_reported) < 12,
        **provenance,
    )
    annual = _keep_countries(annual[annual["fiscal_year"] >= FIRST_FISCAL_YEAR], countries, location)
    annual = annual.assign(months_reported=annual["fiscal_year"].map(months_reported).astype("int64"), **provenance)
    annual["is_partial_year"] = annual["months_reported"] < 12
    return _typed(monthly, OHSS_MONTHLY_COLUMNS), _typed(annual, OHSS_ANNUAL_COLUMNS)


# --- CBP CSV -------------------------------------------------------------------------------------

def read_cbp_csv(body: bytes, location: str) -> pd.DataFrame:
    check_body_kind(SOURCE, location, body, "csv")
    try:
        table = pd.read_csv(io.BytesIO(body), dtype=str, encoding="utf-8-sig", keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise SourceFormatError(SOURCE, location, f"CSV cannot be read: {exc}") from None
    table.columns = [normalise_header(column) for column in table.columns]
    missing = [column for column in CBP_HEADERS if column not in table.columns]
    if missing:
        raise SourceFormatError(SOURCE, location, f"CSV has no column(s) {missing} (renamed header?); columns: {list(table.columns)}")
    return table[list(CBP_HEADERS)].rename(columns=CBP_HEADERS)


def parse_cbp_csv(body: bytes, landed: LandedFile, fetch_id: str, countries: tuple[str, ...]) -> pd.DataFrame:
    """Monthly Southwest border rows of the configured countries and the group "Other"."""
    location = f"{landed.url} (archived as {landed.path})"
    table = read_cbp_csv(body, location)
    # a release has ~10,000 rows and the warehouse reads every release it keeps: each label is
    # converted once per distinct value and spread over the rows with numpy, never row by row
    for column in ("component", "demographic", "citizenship", "title_of_authority", "encounter_type"):
        table[column] = _collapse_whitespace(table[column])
    year_codes, years = _convert_distinct(table["fiscal_year_label"], parse_fiscal_year_label, location, "column 'Fiscal Year'")
    month_codes, months = _convert_distinct(table["month_abbv"], parse_cbp_month, location, "column 'Month (abbv)'")
    codes = {name: classify_citizenship(name, CITIZENSHIP_GROUPS) for name in table["citizenship"].unique()}
    unknown = sorted(name for name, code in codes.items() if code is None)
    if unknown:
        raise SourceFormatError(SOURCE, location, f"unknown citizenship group(s) {unknown}: neither a known country nor one of {list(CITIZENSHIP_GROUPS)}")
    fiscal_year = np.array([year for year, _ in years], dtype="int64")[year_codes]
    calendar_month = np.array([calendar for _, calendar in months], dtype="int64")[month_codes]
    frame = table.assign(
        fiscal_year=fiscal_year,
        is_partial_year=np.array([partial for _, partial in years], dtype=bool)[year_codes],
        fiscal_month=np.array([fiscal for fiscal, _ in months], dtype="int64")[month_codes],
        calendar_month=calendar_month,
        citizenship_code=table["citizenship"].map(codes),
        encounters=parse_counts(table["encounters"], location, "column 'Encounter Count'").to_numpy(),
        vintage=vintage_of(landed),
        source_url=landed.url,
        fetch_id=fetch_id,
    )
    # October-December belong to the fiscal year named after the following calendar year (calendar_year_of)
    frame["calendar_year"] = np.where(calendar_month >= 10, fiscal_year - 1, fiscal_year)
    keep = frame["citizenship_code"].isin(countries) | frame["citizenship_code"].isin(CITIZENSHIP_GROUPS.values())
    return _typed(frame[keep & (frame["fiscal_year"] >= FIRST_FISCAL_YEAR)], CBP_COLUMNS)


def _typed(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    frame = frame[columns].reset_index(drop=True)
    for column in ("fiscal_year", "fiscal_month", "calendar_year", "calendar_month", "encounters", "months_reported"):
        if column in frame:
            frame[column] = frame[column].astype("int64")
    frame["is_partial_year"] = frame["is_partial_year"].astype(bool)
    return frame


# --- parse ---------------------------------------------------------------------------------------------

def parse(landings: list[Landing], settings) -> dict[str, pd.DataFrame]:
    """Every landed workbook and CSV, by file type; landing pages (HTML) archived by live fetches are skipped."""
    parts: dict[str, list[pd.DataFrame]] = {OHSS_MONTHLY: [], OHSS_ANNUAL: [], CBP_MONTHLY: []}
    for landing in landings:
        for landed in landing.files:
            suffix = PurePosixPath(landed.file).suffix.lower()
            if suffix == ".xlsx":
                monthly, annual = parse_ohss_workbook(landed.read_bytes(), landed, landing.fetch_id, settings.countries)
                parts[OHSS_MONTHLY].append(monthly)
                parts[OHSS_ANNUAL].append(annual)
            elif suffix == ".csv":
                parts[CBP_MONTHLY].append(parse_cbp_csv(landed.read_bytes(), landed, landing.fetch_id, settings.countries))
    columns = {OHSS_MONTHLY: OHSS_MONTHLY_COLUMNS, OHSS_ANNUAL: OHSS_ANNUAL_COLUMNS, CBP_MONTHLY: CBP_COLUMNS}
    return {name: _combine(frames, columns[name]) for name, frames in parts.items()}


def _combine(frames: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    """The same release landed twice collapses; rows that differ stay for the suites' key checks."""
    if not frames:
        return pd.DataFrame(columns=columns)
    value_columns = [column for column in columns if column not in ("source_url", "fetch_id", *LINEAGE_COLUMNS)]
    return pd.concat(frames, ignore_index=True).drop_duplicates(subset=value_columns).reset_index(drop=True)
