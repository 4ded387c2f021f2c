"""UNODC World Drug Report statistical annex, table 7.1 "Drug seizures" (xlsx) -> kilograms seized
per country, drug and reference year, one row per published row.

One sheet (found by its header row ``Region, SubRegion, Country, DrugGroup, DrugSubGroup,
DrugName, Reference year, Kilograms, msCode``, not by name) under a title row ``Drug seizures,
2018-2022``; the years in the title name the release (vintage ``2018-2022``; the next annex covers
2019-2023 and revises the overlap). Several rows can share a country, drug and year (separate
reports): every row is kept, with its sheet row number, and dbt sums them. Quantities are in
kilograms as reported, plant material (coca bush, cannabis plants) included, so which rows make a
KPI is decided in dbt against the seed ``unodc_drug_names``. Countries are read from ``msCode``
(ISO3) and must agree with the country name.
"""

from __future__ import annotations

import io
import math
import re

import pandas as pd

from orchestration.core.countries import iso3_for_name
from orchestration.core.errors import SourceFormatError
from orchestration.fetch.archive import Landing, LandedFile
from orchestration.fetch.cells import LINEAGE_COLUMNS, column_letter, file_columns, printed_text
from orchestration.fetch.http import check_body_kind

SOURCE = "unodc"
SOURCE_ID = "unodc_drug_seizures"
LICENCE = "UNODC terms: reproduction for non-commercial purposes with acknowledgement of UNODC"

DATASET = "unodc_drug_seizures"
HEADER = ("Region", "SubRegion", "Country", "DrugGroup", "DrugSubGroup", "DrugName", "Reference year", "Kilograms", "msCode")
RENAMED = {"Region": "region", "SubRegion": "subregion", "Country": "country", "DrugGroup": "drug_group",
           "DrugSubGroup": "drug_subgroup", "DrugName": "drug_name", "Reference year": "year", "Kilograms": "kilograms",
           "msCode": "country_iso3"}
COLUMNS = ["vintage", "country_iso3", "country", "region", "subregion", "drug_group", "drug_subgroup", "drug_name", "year",
           "kilograms", "sheet_row", "source_url", "fetch_id", *LINEAGE_COLUMNS]
TOP_ROWS = 10
_TITLE = re.compile(r"^Drug seizures,\s*(?P<first>\d{4})\s*-\s*(?P<last>\d{4})\s*$", re.IGNORECASE)


def _text(value) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else " ".join(str(value).split())


def release_of_title(text: str) -> tuple[int, int] | None:
    """``"Drug seizures, 2018-2022"`` -> (2018, 2022)."""
    match = _TITLE.match(_text(text))
    return (int(match.group("first")), int(match.group("last"))) if match else None


def parse_kilograms(value, where: str) -> float | None:
    """A non-negative quantity in kilograms (fractions of a gram are published for some drugs); None
    for an empty cell (a seizure reported without a weight: missing, not zero)."""
    if _text(value) == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: kilograms {value!r} is not a number") from None
    if math.isnan(number) or number < 0:
        raise ValueError(f"{where}: kilograms {value!r} is not a non-negative quantity")
    return number


def read_sheet(body: bytes, location: str) -> tuple[pd.DataFrame, tuple[int, int], int, str, int]:
    """(the table under its header, the title's years, the header's row index, the sheet's name, the
    Kilograms column's index) of the seizures sheet."""
    check_body_kind(SOURCE, location, body, "xlsx")
    try:
        sheets = pd.read_excel(io.BytesIO(body), sheet_name=None, header=None, engine="calamine")
    except Exception as exc:  # calamine raises its own error types for corrupt zips and XML
        raise SourceFormatError(SOURCE, location, f"workbook cannot be read: {type(exc).__name__}: {exc}") from None
    for name, sheet in sheets.items():
        for row in range(min(TOP_ROWS, len(sheet))):
            if tuple(_text(v) for v in sheet.iloc[row] if _text(v)) == HEADER:
                titles = [release_of_title(v) for r in range(row) for v in sheet.iloc[r] if release_of_title(v)]
                if not titles:
                    raise SourceFormatError(SOURCE, location, f"sheet {name!r}: no title like 'Drug seizures, 2018-2022' above the header")
                names = [_text(v) for v in sheet.iloc[row]]
                table = sheet.iloc[row + 1:].set_axis(names, axis=1)
                return table[list(HEADER)], titles[0], row, name, names.index("Kilograms")
    raise SourceFormatError(SOURCE, location, f"no sheet has the header row {list(HEADER)} (renamed column?)")


def parse_workbook(body: bytes, landed: LandedFile, fetch_id: str, countries: tuple[str, ...]) -> pd.DataFrame:
    location = f"{landed.url} (archived as {landed.path})"
    table, (first, last), header_row, sheet_name, kilograms_column = read_sheet(body, location)
    archived = file_columns(landed)
    records = []
    for offset, values in enumerate(table.itertuples(index=False, name=None)):
        row = dict(zip(HEADER, values))
        if all(_text(v) == "" for v in values):
            continue
        sheet_row = header_row + 2 + offset  # 1-based, as a spreadsheet shows it
        code = _text(row["msCode"])
        if code not in countries:
            continue
        where = f"row {sheet_row}"
        named = iso3_for_name(_text(row["Country"]))
        if named != code:
            raise SourceFormatError(SOURCE, location, f"{where}: country {row['Country']!r} is not msCode {code!r}")
        try:
            year = int(float(row["Reference year"]))
        except (TypeError, ValueError):
            raise SourceFormatError(SOURCE, location, f"{where}: reference year {row['Reference year']!r} is not a year") from None
        try:
            kilograms = parse_kilograms(row["Kilograms"], where)
        except ValueError as exc:
            raise SourceFormatError(SOURCE, location, str(exc)) from None
        if not first <= year <= last:
            raise SourceFormatError(SOURCE, location, f"{where}: reference year {year} outside the table's {first}-{last}")
        records.append({**{RENAMED[k]: _text(v) for k, v in row.items() if k not in ("Reference year", "Kilograms")},
                        "year": year, "kilograms": kilograms, "sheet_row": sheet_row, "vintage": f"{first}-{last}",
                        "source_url": landed.url, "fetch_id": fetch_id, **archived,
                        # the sheet is read from A1, so its rows are the spreadsheet's
                        "source_location": f"sheet={sheet_name};cell={column_letter(kilograms_column)}{sheet_row}",
                        "original_text": None if kilograms is None else printed_text(row["Kilograms"])})
    return _typed(pd.DataFrame(records, columns=COLUMNS))


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    # kilograms stays float with NaN for a row published without a weight
    return frame.reset_index(drop=True).astype({"year": "int64", "kilograms": "float64", "sheet_row": "int64", "original_text": "string"})


def parse_landings(landings: list[Landing], countries: tuple[str, ...]) -> dict[str, pd.DataFrame]:
    """Every landed workbook (the annex page, archived beside it by a live fetch, is skipped)."""
    parts = []
    for landing in landings:
        for landed in landing.files:
            if landed.file.lower().endswith(".xlsx"):
                parts.append(parse_workbook(landed.read_bytes(), landed, landing.fetch_id, countries))
            elif not landed.file.lower().endswith(".html"):
                raise SourceFormatError(SOURCE, str(landed.path), "unexpected file: expected the annex table's .xlsx workbook")
    if not parts:
        return {DATASET: _typed(pd.DataFrame(columns=COLUMNS))}
    combined = pd.concat(parts, ignore_index=True)
    # the same release landed twice collapses (same rows, same sheet row numbers)
    combined = combined.drop_duplicates(subset=[c for c in COLUMNS if c not in ("source_url", "fetch_id", *LINEAGE_COLUMNS)])
    return {DATASET: combined.reset_index(drop=True)}
