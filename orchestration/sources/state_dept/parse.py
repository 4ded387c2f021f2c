"""US State Department visa statistics: nonimmigrant (NIV) and immigrant (IV) visas issued.

Two publications, parsed from their own formats:

- **NIV Detail Table** (``FYs97-24_NIVDetailTable.xlsx``): one sheet per fiscal year. Row 1 holds
  the visa classes, column A the nationalities mixed with region headers ("Africa"), "Totals for
  <region>" rows and a grand total row ("Grand Totals" in older sheets, "Grand Total" in newer).
  Class labels change style in FY2022 (``B-1,2`` -> ``B1/B2``, ``H-2B`` -> ``H2B``); sheets are out
  of order (FY19 before FY18); FY1997-FY2020 end with ``Total Visas, BCC, Grand Total`` (Total
  Visas = classes without BCC, Grand Total = Total Visas + BCC), FY2021 on with ``Grand Total``.
  Every class (BCC included) is kept as published; the Grand Total stays a column
  (``nationality_grand_total``), never a class row. Class normalisation and pathway groups live
  in the dbt seed ``seeds/state_dept/state_dept_visa_classes.csv``, which users edit.
- **Report of the Visa Office, Table III** (one PDF per fiscal year): immigrant visas by foreign
  state of chargeability and category. The text layer (pypdf) has one line per foreign state:
  its name, one number per category and the total. FY2000-FY2005 head the second column
  "Returning Residents and Armed Forces Special Immigrants"; FY2006-FY2007 add a "Schedule A
  Worker" column.

Vintages: the NIV workbook is one release covering many years (``NIV Detail Table
FY1997-FY2024``; a newer release supersedes it in staging); each Table III PDF is its own release
(``Report of the Visa Office FY2023 Table III``).

Live mode reads the publisher's index pages for the newest workbook and the Table III PDFs (or
takes the URLs from ``KPI_STATE_DEPT_NIV_WORKBOOK_URL`` / ``KPI_STATE_DEPT_TABLE_III_URLS``,
comma-separated); the index pages are archived in the landing beside the files.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from orchestration.core.countries import iso3_for_name
from orchestration.core.errors import SourceFormatError
from orchestration.fetch.archive import Landing, LandedFile
from orchestration.fetch.cells import LINEAGE_COLUMNS, file_columns, printed_text, workbook_cell
from orchestration.fetch.http import check_body_kind

SOURCE = "state_dept"
SOURCE_ID = "state_dept_visas"
LICENCE = "US Government work (public domain)"

NIV_DATASET = "state_dept_niv_issuances"
IV_DATASET = "state_dept_iv_issuances"

# the lineage columns last (orchestration/fetch/cells.py): a NIV row's location is its class cell; the
# nationality's Grand Total (visas_nonimmigrant) is another cell of the row, so it has its own pair
NIV_COLUMNS = ["fiscal_year", "nationality", "country_iso3", "visa_class", "issuances", "nationality_grand_total",
               "sheet_name", "vintage", "source_url", "fetch_id", *LINEAGE_COLUMNS, "grand_total_location",
               "grand_total_text"]
IV_CATEGORIES = ["immediate_relatives", "special_immigrants", "family_preference", "employment_preference",
                 "schedule_a_workers", "diversity_immigrants"]
# a Table III row's location is its page (page=<n>, 1-based), its original_text the row's line as printed
IV_COLUMNS = ["fiscal_year", "foreign_state", "country_iso3", *IV_CATEGORIES, "total", "special_immigrants_heading",
              "vintage", "source_url", "fetch_id", *LINEAGE_COLUMNS]

# --------------------------------------------------------------------------------------------
# NIV Detail Table workbook
# --------------------------------------------------------------------------------------------

GRAND_TOTAL_COLUMN = "Grand Total"
TOTAL_VISAS_COLUMN = "Total Visas"  # FY1997-FY2020 only: the classes without BCC
BORDER_CROSSING_CARD_CLASS = "BCC"  # FY1997-FY2020 only: a class column between the two totals
_SHEET_NAME = re.compile(r"^FY(\d{2})$")
_SHEET_TITLE = re.compile(r"^Fiscal Year (\d{4})$")
_GRAND_TOTAL_ROW = re.compile(r"^Grand Totals?$", re.IGNORECASE)
_REGION_TOTAL_ROW = re.compile(r"^Totals for (.+)$", re.IGNORECASE)


def fiscal_year_of_sheet(sheet_name: str, title, location: str) -> int:
    """The sheet's fiscal year from its title cell ("Fiscal Year 2019"), checked against its name
    ("FY19"): the workbook's sheet order is not chronological, so position means nothing."""
    title_match = _SHEET_TITLE.match(str(title).strip()) if isinstance(title, str) else None
    if not title_match:
        raise SourceFormatError(SOURCE, location, f"sheet {sheet_name!r}: cell A1 is {title!r}, expected 'Fiscal Year YYYY'")
    year = int(title_match.group(1))
    name_match = _SHEET_NAME.match(sheet_name.strip())
    if name_match and int(name_match.group(1)) != year % 100:
        raise SourceFormatError(SOURCE, location, f"sheet {sheet_name!r} is titled {title!r}: name and title disagree")
    return year


def split_niv_header(header: list, sheet_name: str, location: str) -> tuple[list[str], bool]:
    """(class labels as published, whether the sheet has the FY1997-FY2020 'Total Visas' column).

    Both eras end with 'Grand Total'; the older one has 'Total Visas' and 'BCC' before it. BCC
    (border crossing cards) is a class; the two totals are not.
    """
    labels = [str(cell).strip() if isinstance(cell, str) else cell for cell in header]
    if any(not isinstance(label, str) or not label for label in labels):
        raise SourceFormatError(SOURCE, location, f"sheet {sheet_name!r}: blank or non-text cell in the class header row")
    if len(set(labels)) != len(labels):
        duplicated = sorted({label for label in labels if labels.count(label) > 1})
        raise SourceFormatError(SOURCE, location, f"sheet {sheet_name!r}: class header repeats {duplicated}")
    if labels[-1] != GRAND_TOTAL_COLUMN:
        raise SourceFormatError(
            SOURCE, location, f"sheet {sheet_name!r}: last column is {labels[-1]!r}, expected {GRAND_TOTAL_COLUMN!r}")
    has_total_visas = TOTAL_VISAS_COLUMN in labels
    if has_total_visas and labels[-3:] != [TOTAL_VISAS_COLUMN, BORDER_CROSSING_CARD_CLASS, GRAND_TOTAL_COLUMN]:
        raise SourceFormatError(
            SOURCE, location, f"sheet {sheet_name!r}: trailing columns {labels[-3:]}, expected "
                              f"{[TOTAL_VISAS_COLUMN, BORDER_CROSSING_CARD_CLASS, GRAND_TOTAL_COLUMN]}")
    classes = [label for label in labels if label not in (TOTAL_VISAS_COLUMN, GRAND_TOTAL_COLUMN)]
    return classes, has_total_visas


def classify_niv_rows(names: pd.Series) -> pd.Series:
    """Kind of each row by its column-A text: blank, region (a header such as "Asia", known from its
    "Totals for Asia" row), region_total, grand_total or nationality. Region headers cannot be
    told by empty cells: FY2023's "Asia" header row carries zeros."""
    text = names.map(lambda value: value.strip() if isinstance(value, str) else "")
    regions = {match.group(1).strip().casefold() for match in text.map(_REGION_TOTAL_ROW.match) if match}
    kinds = pd.Series("nationality", index=names.index)
    kinds[text == ""] = "blank"
    kinds[text.str.casefold().isin(regions)] = "region"
    kinds[text.map(lambda t: bool(_REGION_TOTAL_ROW.match(t)))] = "region_total"
    kinds[text.map(lambda t: bool(_GRAND_TOTAL_ROW.match(t)))] = "grand_total"
    return kinds


def _as_numbers(block: pd.DataFrame) -> pd.DataFrame:
    """``pd.to_numeric(errors="coerce")`` of every column. Columns of plain numbers (nearly all of
    them) are converted in one ``infer_objects`` pass, which gives the same int64/float64 as
    ``to_numeric`` at a fraction of the cost of ~4,800 per-column calls; the rest go through
    ``to_numeric`` itself, so text, booleans and dates keep its exact semantics."""
    # the copy consolidates infer_objects' one-block-per-column result into one block per dtype,
    # which every later whole-frame operation (sums, masks) needs to be fast
    numbers = block.infer_objects().copy()
    for column, dtype in zip(block.columns, numbers.dtypes):
        if dtype.kind not in "if":
            numbers[column] = pd.to_numeric(block[column], errors="coerce")
    return numbers


def _numeric_block(block: pd.DataFrame, sheet_name: str, location: str) -> pd.DataFrame:
    """Cells as numbers; blank cells stay NaN (no value published); text raises."""
    numbers = _as_numbers(block)
    # masks compared as arrays: frame-to-frame alignment of the two block layouts costs more
    bad = pd.DataFrame(block.notna().to_numpy() & numbers.isna().to_numpy(), index=block.index, columns=block.columns)
    if bad.any().any():
        row, column = next((r, c) for c in bad.columns for r in bad.index[bad[c]])
        raise SourceFormatError(SOURCE, location, f"sheet {sheet_name!r}: {column!r} of row {row + 1} is {block.at[row, column]!r}, not a number")
    return numbers


def check_whole_counts(values: pd.DataFrame, sheet_name: str, location: str) -> None:
    """Issuances are counts. The publisher's own slips exist (FY15 Georgia M-2 is 0.24, carried
    into its totals), so this runs on the rows the warehouse loads, not on every nationality."""
    fractional = values.notna() & (values % 1 != 0)
    if fractional.any().any():
        cells = [f"{row} {column}={values.at[row, column]}" for column in values.columns for row in values.index[fractional[column]]]
        raise SourceFormatError(SOURCE, location, f"sheet {sheet_name!r}: fractional issuance counts: {cells[:5]}")


@dataclass(frozen=True)
class NivSheet:
    fiscal_year: int
    sheet_name: str
    classes: list[str]
    nationalities: pd.DataFrame  # index: nationality as published; columns: classes + Grand Total
    rows: pd.Series  # nationality -> its 0-based row in the sheet (read from A1)
    columns: dict[str, int]  # class label or Grand Total -> its 0-based column in the sheet


def parse_niv_sheet(sheet_name: str, sheet: pd.DataFrame, location: str) -> NivSheet:
    """One sheet (read with header=None) into its nationality rows, after the structural checks
    that prove the rows and columns were told apart right."""
    if sheet.shape[0] < 3 or sheet.shape[1] < 3:
        raise SourceFormatError(SOURCE, location, f"sheet {sheet_name!r} is empty or has no class columns")
    fiscal_year = fiscal_year_of_sheet(sheet_name, sheet.iat[0, 0], location)
    header = list(sheet.iloc[0, 1:])
    classes, has_total_visas = split_niv_header(header, sheet_name, location)
    body = sheet.iloc[1:].copy()
    body.columns = ["name", *[str(label).strip() for label in header]]
    kinds = classify_niv_rows(body["name"])
    grand_rows = body[kinds == "grand_total"]
    if len(grand_rows) != 1:
        raise SourceFormatError(SOURCE, location, f"sheet {sheet_name!r}: expected one 'Grand Total(s)' row, found {len(grand_rows)}")
    value_columns = body.columns[1:]
    nationality_rows = body[kinds == "nationality"]
    values = _numeric_block(nationality_rows[value_columns], sheet_name, location)
    values.index = nationality_rows["name"].str.strip()
    grand_total_row = _numeric_block(grand_rows[value_columns], sheet_name, location).iloc[0]
    mismatched = list(value_columns[((values.sum() - grand_total_row).abs() > 1e-6).to_numpy()])
    if mismatched:
        raise SourceFormatError(
            SOURCE, location, f"sheet {sheet_name!r}: nationality rows do not add up to the Grand Total row in "
                              f"{mismatched[:5]} (a region header or total row taken for a nationality?)")
    if values[GRAND_TOTAL_COLUMN].isna().any():
        missing = list(values.index[values[GRAND_TOTAL_COLUMN].isna()])
        raise SourceFormatError(SOURCE, location, f"sheet {sheet_name!r}: no Grand Total for {missing[:5]}")
    if has_total_visas:
        without_bcc = values[[c for c in classes if c != BORDER_CROSSING_CARD_CLASS]].sum(axis=1)
        if ((without_bcc - values[TOTAL_VISAS_COLUMN]).abs() > 1e-6).any():
            raise SourceFormatError(SOURCE, location, f"sheet {sheet_name!r}: classes other than BCC do not add up to 'Total Visas'")
    if values.index.duplicated().any():
        raise SourceFormatError(SOURCE, location, f"sheet {sheet_name!r}: nationality listed twice: {sorted(set(values.index[values.index.duplicated()]))}")
    rows = pd.Series(nationality_rows.index, index=values.index)
    columns = {label: position for position, label in enumerate(body.columns) if position}
    return NivSheet(fiscal_year, sheet_name, classes, values[[*classes, GRAND_TOTAL_COLUMN]], rows, columns)


def check_niv_years(sheets: list[NivSheet], location: str) -> None:
    """Every fiscal year between the first and the last sheet, once: a missing sheet raises."""
    years = sorted(sheet.fiscal_year for sheet in sheets)
    if not years:
        raise SourceFormatError(SOURCE, location, "workbook has no fiscal-year sheet")
    repeated = sorted({year for year in years if years.count(year) > 1})
    if repeated:
        raise SourceFormatError(SOURCE, location, f"fiscal year(s) {repeated} have more than one sheet")
    missing = sorted(set(range(years[0], years[-1] + 1)) - set(years))
    if missing:
        raise SourceFormatError(SOURCE, location, f"sheet(s) missing for fiscal year(s) {missing} (workbook covers FY{years[0]}-FY{years[-1]})")


def niv_vintage(sheets: list[NivSheet]) -> str:
    years = [sheet.fiscal_year for sheet in sheets]
    return f"NIV Detail Table FY{min(years)}-FY{max(years)}"


def read_niv_workbook(body: bytes, location: str) -> list[NivSheet]:
    """Every sheet of the workbook, parsed and checked."""
    check_body_kind(SOURCE, location, body, "xlsx")
    try:
        workbook = pd.read_excel(io.BytesIO(body), engine="calamine", sheet_name=None, header=None)
    except Exception as exc:  # calamine raises its own types for broken zips and XML
        raise SourceFormatError(SOURCE, location, f"cannot read the workbook: {type(exc).__name__}: {str(exc)[:200]}") from None
    sheets = [parse_niv_sheet(name, sheet, location) for name, sheet in workbook.items()]
    check_niv_years(sheets, location)
    return sheets


def long_by_class(wide: pd.DataFrame) -> pd.DataFrame:
    """(nationality, visa_class, issuances) rows of a nationality x class frame, class by class:
    what ``wide.rename_axis("nationality").reset_index().melt(...)`` gives, built from the
    underlying array because melt's per-call overhead dominates these 5-row frames."""
    return pd.DataFrame({
        "nationality": list(wide.index) * len(wide.columns),
        "visa_class": wide.columns.repeat(len(wide)),
        "issuances": wide.to_numpy().ravel(order="F"),
    })


def niv_rows(sheets: list[NivSheet], countries: tuple[str, ...], first_year: int, last_year: int,
             vintage: str, source_url: str, fetch_id: str, location: str,
             archived: dict[str, str] | None = None) -> pd.DataFrame:
    """Long rows (one per nationality x class) for the configured countries and years, each with its
    class cell and its Grand Total cell; a blank cell is no row. ``archived``: the file's
    ``source_file`` and ``file_sha256`` (orchestration/fetch/cells.py)."""
    wanted = set(countries)
    parts = []
    for sheet in sheets:
        if not first_year <= sheet.fiscal_year <= last_year:
            continue
        iso3 = pd.Series([iso3_for_name(name) for name in sheet.nationalities.index], index=sheet.nationalities.index)
        selected = sheet.nationalities[iso3.isin(wanted).to_numpy()]
        if selected.empty:
            continue
        check_whole_counts(selected, sheet.sheet_name, location)
        long = long_by_class(selected[sheet.classes]).dropna(subset=["issuances"])
        long["nationality_grand_total"] = long["nationality"].map(selected[GRAND_TOTAL_COLUMN])
        long["country_iso3"] = long["nationality"].map(iso3)
        long["fiscal_year"] = sheet.fiscal_year
        long["sheet_name"] = sheet.sheet_name
        sheet_rows = long["nationality"].map(sheet.rows)
        long["source_location"] = [workbook_cell(sheet.sheet_name, row, sheet.columns[label])
                                   for row, label in zip(sheet_rows, long["visa_class"])]
        long["original_text"] = long["issuances"].map(printed_text)
        grand_total_column = sheet.columns[GRAND_TOTAL_COLUMN]
        long["grand_total_location"] = [workbook_cell(sheet.sheet_name, row, grand_total_column) for row in sheet_rows]
        long["grand_total_text"] = long["nationality_grand_total"].map(printed_text)
        parts.append(long)
    if not parts:
        return pd.DataFrame(columns=NIV_COLUMNS)
    archived = archived or {"source_file": None, "file_sha256": None}
    frame = pd.concat(parts, ignore_index=True).assign(vintage=vintage, source_url=source_url, fetch_id=fetch_id, **archived)
    for column in ("fiscal_year", "issuances", "nationality_grand_total"):
        frame[column] = frame[column].astype("int64")
    return frame[NIV_COLUMNS]


# --------------------------------------------------------------------------------------------
# Report of the Visa Office, Table III (PDF)
# --------------------------------------------------------------------------------------------

_FISCAL_YEAR_TITLE = re.compile(r"Fiscal\s+Year\s+(\d{4})")
_NUMBER = r"\d[\d,]*"
_LINE_WITH_NUMBERS = re.compile(rf"^\s*(?P<name>\D.*?)\s+(?P<numbers>{_NUMBER}(?:\s+{_NUMBER})*)\s*$")
_FOOTNOTE_MARK = re.compile(r"\d+$")
_RETURNING_RESIDENTS = "Returning Residents and Armed Forces Special Immigrants"


def table_iii_text(body: bytes, location: str) -> str:
    """The PDF's text layer, pages joined; a body that is not a whole PDF raises."""
    return "\n".join(table_iii_pages(body, location))


def table_iii_pages(body: bytes, location: str) -> list[str]:
    """The text layer of each page; a body that is not a whole PDF raises."""
    check_body_kind(SOURCE, location, body, "pdf")
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(body))
        return [page.extract_text() or "" for page in reader.pages]
    except (PyPdfError, ValueError, KeyError) as exc:
        raise SourceFormatError(SOURCE, location, f"cannot read the PDF: {type(exc).__name__}: {str(exc)[:200]}") from None


def table_iii_fiscal_year(text: str, location: str) -> int:
    if "Table III" not in text or "Immigrant Visas Issued" not in text:
        raise SourceFormatError(SOURCE, location, "not a Report of the Visa Office Table III (no 'Table III' / 'Immigrant Visas Issued' title)")
    years = set(_FISCAL_YEAR_TITLE.findall(text))
    if len(years) != 1:
        raise SourceFormatError(SOURCE, location, f"expected one 'Fiscal Year YYYY' title, found {sorted(years) or 'none'}")
    return int(years.pop())


def table_iii_layout(text: str, location: str) -> tuple[list[str], str]:
    """(the category columns in published order, the special immigrants column heading).

    The header is read from the text before the first region ("Africa"); older PDFs interleave
    the words of the two-line headings, so words are checked, not phrases.
    """
    head = " ".join(text.split("\nAfrica")[0].split())
    words = set(head.replace("1", " ").split())
    required = {"Immediate", "Relatives", "Special", "Immigrants", "Family", "Employment", "Preference", "Diversity", "Total"}
    missing = sorted(required - words)
    if missing:
        raise SourceFormatError(SOURCE, location, f"Table III header lacks {missing}: columns renamed or header not found")
    columns = ["immediate_relatives", "special_immigrants", "family_preference", "employment_preference"]
    if "Schedule" in words:
        columns.append("schedule_a_workers")
    columns.append("diversity_immigrants")
    heading = _RETURNING_RESIDENTS if {"Returning", "Residents"} <= words else "Special Immigrants"
    return columns, heading


def parse_number(token: str) -> int:
    return int(token.replace(",", ""))


def table_iii_rows(text: str, columns: list[str], countries: tuple[str, ...], location: str) -> list[dict]:
    """The lines of the configured foreign states: name, one number per category, total."""
    wanted = set(countries)
    expected = len(columns) + 1
    rows: dict[str, dict] = {}
    for line in text.splitlines():
        match = _LINE_WITH_NUMBERS.match(line)
        if not match:
            continue
        name = match.group("name").strip()
        numbers = match.group("numbers").split()
        iso3 = iso3_for_name(_FOOTNOTE_MARK.sub("", name).strip())
        if iso3 not in wanted:
            continue
        if len(numbers) != expected:
            raise SourceFormatError(SOURCE, location, f"line {line.strip()!r} has {len(numbers)} numbers, the header has {expected} columns")
        if iso3 in rows:
            raise SourceFormatError(SOURCE, location, f"{iso3} appears twice ({rows[iso3]['foreign_state']!r} and {name!r})")
        values = [parse_number(token) for token in numbers]
        rows[iso3] = {"foreign_state": name, "country_iso3": iso3, **dict(zip(columns, values[:-1])), "total": values[-1],
                      "original_text": line.strip()}
    return list(rows.values())


def parse_table_iii(body: bytes, location: str, countries: tuple[str, ...]) -> tuple[int, str, list[dict]]:
    """(fiscal year, special immigrants heading, rows) of one Table III PDF; each row's
    ``source_location`` is the page its line is printed on (``page=<n>``, 1-based)."""
    pages = table_iii_pages(body, location)
    text = "\n".join(pages)
    fiscal_year = table_iii_fiscal_year(text, location)
    columns, heading = table_iii_layout(text, location)
    rows = table_iii_rows(text, columns, countries, location)
    page_lines = [{line.strip() for line in page.splitlines()} for page in pages]
    for row in rows:
        row["source_location"] = next(f"page={number}" for number, lines in enumerate(page_lines, 1)
                                      if row["original_text"] in lines)
    return fiscal_year, heading, rows


def iv_vintage(fiscal_year: int) -> str:
    return f"Report of the Visa Office FY{fiscal_year} Table III"


def iv_frame(records: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(records, columns=IV_COLUMNS)
    for column in ("fiscal_year", "immediate_relatives", "special_immigrants", "family_preference",
                   "employment_preference", "diversity_immigrants", "total"):
        frame[column] = frame[column].astype("int64")
    frame["schedule_a_workers"] = frame["schedule_a_workers"].astype("Int64")
    return frame


# --------------------------------------------------------------------------------------------
# Landings -> frames
# --------------------------------------------------------------------------------------------


def _location(landed) -> str:
    return f"{landed.url} (archived as {landed.path})"


def _suffix(landed: LandedFile) -> str:
    return Path(landed.file).suffix.lower()


def parse_table_iii_file(landed: LandedFile, countries: tuple[str, ...]) -> tuple[int, str, list[dict]]:
    return parse_table_iii(landed.read_bytes(), _location(landed), countries)


def _table_iii_outcome(landed: LandedFile, countries: tuple[str, ...]) -> tuple[str, tuple]:
    """Worker side of ``parse_table_iii_file``. A SourceFormatError cannot cross the process
    boundary (unpickling calls its three-argument __init__ with the message alone), so it travels
    as its parts and is raised again, unchanged, in the parent."""
    try:
        return "parsed", parse_table_iii_file(landed, countries)
    except SourceFormatError as exc:
        return "failed", (type(exc), exc.source, exc.location, exc.problem)


def _table_iii_result(future: Future, landed: LandedFile, countries: tuple[str, ...]) -> tuple[int, str, list[dict]]:
    try:
        kind, value = future.result()
    except BrokenProcessPool:  # a worker died (killed, out of memory): the parse itself is not at fault
        return parse_table_iii_file(landed, countries)
    if kind == "failed":
        error_type, source, location, problem = value
        raise error_type(source, location, problem)
    return value


def _usable_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _start_workers(pdfs: list[LandedFile], countries: tuple[str, ...]) -> tuple[ProcessPoolExecutor, list[Future]] | None:
    """A pool already parsing every PDF, or None when a pool would not pay (one core, one PDF)."""
    workers = min(_usable_cores(), len(pdfs))
    if workers < 2:
        return None
    import pypdf  # noqa: F401 - imported before the workers fork, so that each does not import it again

    pool = None
    try:
        pool = ProcessPoolExecutor(max_workers=workers)
        return pool, [pool.submit(_table_iii_outcome, landed, countries) for landed in pdfs]
    except Exception:  # workers that cannot start (daemonic parent, no semaphores, process limit) only cost speed
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        return None


@contextmanager
def table_iii_parsed_ahead(pdfs: list[LandedFile],
                           countries: tuple[str, ...]) -> Iterator[Iterator[tuple[int, str, list[dict]]]]:
    """The parses of ``pdfs``, in order, computed ahead in worker processes.

    pypdf's text extraction is pure Python (~0.4 s a PDF) and one PDF's parse needs nothing from
    another, so they run on every core while the caller reads the workbook. Results and errors
    come back in file order: the caller raises the same first error as a one-by-one parse.
    """
    started = _start_workers(pdfs, countries)
    if started is None:
        yield (parse_table_iii_file(landed, countries) for landed in pdfs)
        return
    pool, futures = started
    try:
        yield (_table_iii_result(future, landed, countries) for future, landed in zip(futures, pdfs))
    finally:
        # after an error (or an early exit) the PDFs not yet started are not parsed
        pool.shutdown(wait=True, cancel_futures=True)


# the fiscal year in a Table III file name (the link that was followed): FY23, FY2023
_FILE_FISCAL_YEAR = re.compile(r"FY\s*(\d{4}|\d{2})(?!\d)", re.IGNORECASE)


def fiscal_year_of_file_name(name: str) -> int | None:
    match = _FILE_FISCAL_YEAR.search(name)
    if not match:
        return None
    year = int(match.group(1))
    return year if year >= 1000 else 2000 + year if year < 70 else 1900 + year


def check_table_iii_is_the_one_requested(landed: LandedFile, fiscal_year: int, seen: dict[tuple[str, int], str]) -> None:
    """A Table III PDF is the fiscal year its name (the link that was followed) says, and one fetch
    holds one PDF per fiscal year: a publisher serving FY22's table under FY23's name would otherwise
    load one year twice and lose the other."""
    named = fiscal_year_of_file_name(landed.file)
    if named is not None and named != fiscal_year:
        raise SourceFormatError(SOURCE, _location(landed), f"the PDF is Table III of FY{fiscal_year}, but it was requested as FY{named}")
    key = (landed.landing_dir.name, fiscal_year)
    if key in seen:
        raise SourceFormatError(SOURCE, _location(landed), f"a second Table III of FY{fiscal_year} in one fetch (the first is {seen[key]})")
    seen[key] = landed.file


def parse_landings(landings: list[Landing], countries: tuple[str, ...], first_year: int, last_year: int) -> dict[str, pd.DataFrame]:
    """Every workbook (.xlsx) and Table III PDF (.pdf) of the landings; archived index pages
    (.html) are skipped; any other file raises. The PDFs are parsed in worker processes while
    the workbook is read here; files are still taken, and fail, in landing order."""
    niv_parts, iv_records = [], []
    table_iii_years: dict[tuple[str, int], str] = {}  # (fetch id, fiscal year) -> the PDF that holds it
    pdfs = [landed for landing in landings for landed in landing.files if _suffix(landed) == ".pdf"]
    with table_iii_parsed_ahead(pdfs, countries) as table_iii_parses:
        for landing in landings:
            for landed in landing.files:
                suffix = _suffix(landed)
                if suffix == ".xlsx":
                    sheets = read_niv_workbook(landed.read_bytes(), _location(landed))
                    niv_parts.append(niv_rows(sheets, countries, first_year, last_year, niv_vintage(sheets), landed.url,
                                               landing.fetch_id, _location(landed), file_columns(landed)))
                elif suffix == ".pdf":
                    fiscal_year, heading, rows = next(table_iii_parses)
                    check_table_iii_is_the_one_requested(landed, fiscal_year, table_iii_years)
                    if first_year <= fiscal_year <= last_year:
                        iv_records += [{**row, "fiscal_year": fiscal_year, "special_immigrants_heading": heading,
                                        "vintage": iv_vintage(fiscal_year), "source_url": landed.url,
                                        "fetch_id": landing.fetch_id, **file_columns(landed)} for row in rows]
                elif suffix != ".html":
                    raise SourceFormatError(SOURCE, _location(landed), "unexpected file: expected an .xlsx workbook, a Table III .pdf or an index .html")
    niv = pd.concat(niv_parts, ignore_index=True) if niv_parts else pd.DataFrame(columns=NIV_COLUMNS)
    # the same release served twice (two landings) collapses; a conflicting one stays for the suite
    niv = niv.drop_duplicates(subset=["fiscal_year", "nationality", "visa_class", "vintage", "issuances"]).reset_index(drop=True)
    iv = iv_frame(iv_records).drop_duplicates(subset=["fiscal_year", "country_iso3", "vintage", "total", *IV_CATEGORIES])
    return {NIV_DATASET: niv, IV_DATASET: iv.reset_index(drop=True)}
