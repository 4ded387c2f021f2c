"""The World Bank's part of the bundled snapshot: the WDI bulk downloads in ``shared/sources`` (CSV,
and one Excel ``.xls``) converted once into the API v2 JSON pages the live fetch receives for the same
query, each number written from the file's own text (CSV) or cell (Excel), the round trip checked."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
from pathlib import Path

from orchestration.core.countries import countries
from orchestration.core.settings import DEFAULT_COUNTRIES
from orchestration.fetch.archive import LandingWriter
from orchestration.fetch.snapshot import SNAPSHOT_FIRST_YEAR, file_sha256, number_token
from orchestration.sources.worldbank.fetch import indicator_url, page_file_name
from orchestration.sources.worldbank.parse import INDICATORS, LICENCE, PER_PAGE, SOURCE

WORLDBANK_API = "https://api.worldbank.org/v2"
COMPARATORS = tuple(code for code in DEFAULT_COUNTRIES if code != "HND")

# bulk file -> the countries the conversion takes from it (a per-country file has only its own)
WDI_BULK_FILES = {
    "API_HND_DS2_es_csv_v2_21843.csv": ("HND",),
    "API_SL.UEM.TOTL.ZS_DS2_en_csv_v2_36.csv": DEFAULT_COUNTRIES,
    "API_SL.TLF.TOTL.IN_DS2_en_csv_v2_761.csv": DEFAULT_COUNTRIES,
    "API_SE.PRM.CMPT.ZS_DS2_en_csv_v2_23374.csv": DEFAULT_COUNTRIES,
    "API_VC.IHR.PSRC.P5_DS2_en_csv_v2_4355130.csv": DEFAULT_COUNTRIES,
    "API_VC.IHR.PSRC.P5_DS2_en_csv_v2_3892.csv": DEFAULT_COUNTRIES,
    "API_SP.POP.TOTL_DS2_en_csv_v2_85.csv": DEFAULT_COUNTRIES,
    "API_BX.TRF.PWKR.CD.DT_DS2_en_csv_v2_38454.csv": DEFAULT_COUNTRIES,
    "API_BX.TRF.PWKR.CD.DT_DS2_en_excel_v2_6000901.xls": DEFAULT_COUNTRIES,
    "API_BX.TRF.PWKR.DT.GD.ZS_DS2_en_csv_v2_3686014_HN_GT_SV_NI_MX.csv": DEFAULT_COUNTRIES,
    # the newest homicide release for the comparators; for HND the per-country file above is newer
    "API_VC.IHR.PSRC.P5_DS2_es_csv_v2_8348.csv": COMPARATORS,
}


def read_bulk_csv(path: Path) -> tuple[str, list[str], list[dict[str, str]]]:
    """(last updated date, year columns, rows) of a WDI bulk CSV."""
    text = path.read_text(encoding="utf-8-sig")
    lines = text.splitlines()
    last_updated = next(row for row in csv.reader(lines[:4]) if row and row[0] == "Last Updated Date")[1]
    reader = csv.DictReader(io.StringIO("\n".join(lines[4:])))
    years = [name for name in reader.fieldnames if name and name.isdigit()]
    return last_updated, years, list(reader)


def excel_number_text(cell) -> str:
    """An Excel cell's number as the text a CSV would hold ('' for an empty cell); whole numbers
    without a decimal point, others with the shortest text that reads back as the same double."""
    if cell is None or (isinstance(cell, float) and math.isnan(cell)):
        return ""
    number = float(cell)
    return str(int(number)) if number.is_integer() else repr(number)


def read_bulk_excel(path: Path) -> tuple[str, list[str], list[dict[str, str]]]:
    """The same as read_bulk_csv for the WDI Excel download (sheet "Data": "Last Updated Date" is an
    Excel date in row 2, the header in row 4, years as numbers)."""
    import pandas as pd

    sheet = pd.read_excel(path, sheet_name="Data", header=None, engine="calamine")
    updated_row = next(i for i in range(4) if str(sheet.iloc[i, 0]).strip() == "Last Updated Date")
    updated = sheet.iloc[updated_row, 1]
    last_updated = updated.date().isoformat() if isinstance(updated, dt.datetime) else str(updated)[:10]
    header_row = next(i for i in range(10) if str(sheet.iloc[i, 0]).strip() == "Country Name")
    names = [str(int(v)) if isinstance(v, float) and not math.isnan(v) else str(v) for v in sheet.iloc[header_row]]
    years = [name for name in names if name.isdigit()]
    rows = []
    for values in sheet.iloc[header_row + 1:].itertuples(index=False, name=None):
        row = dict(zip(names, values))
        rows.append({**{k: str(row[k]) for k in ("Country Name", "Country Code", "Indicator Name", "Indicator Code")},
                     **{year: excel_number_text(row[year]) for year in years}})
    return last_updated, years, rows


def read_bulk_file(path: Path) -> tuple[str, list[str], list[dict[str, str]]]:
    return read_bulk_excel(path) if path.suffix.lower() in (".xls", ".xlsx") else read_bulk_csv(path)


def api_pages(path: Path, wanted: tuple[str, ...]) -> dict[str, tuple[str, list]]:
    """indicator -> (lastupdated, rows) as the API returns them (country order, years descending)."""
    last_updated, years, rows = read_bulk_file(path)
    years = [y for y in years if int(y) >= SNAPSHOT_FIRST_YEAR]
    iso2 = {iso3: row["country_iso2"] for iso3, row in countries().items()}
    by_indicator: dict[str, list] = {}
    for row in rows:
        indicator, iso3 = row["Indicator Code"], row["Country Code"]
        if indicator not in INDICATORS or iso3 not in wanted:
            continue
        for year in reversed(years):
            cell = row[year].strip()
            by_indicator.setdefault(indicator, []).append({
                "indicator": {"id": indicator, "value": row["Indicator Name"]},
                "country": {"id": iso2[iso3], "value": row["Country Name"]},
                "countryiso3code": iso3,
                "date": year,
                "value": number_token(cell) if cell else None,
                "unit": "",
                "obs_status": "",
                "decimal": 1,
            })
    order = {code: i for i, code in enumerate(wanted)}
    return {
        indicator: (last_updated, sorted(items, key=lambda r: (order[r["countryiso3code"]], -int(r["date"]))))
        for indicator, items in by_indicator.items()
    } | {"_years": (years[0], years[-1])}


def build(shared: Path, out: Path) -> None:
    for name, wanted in WDI_BULK_FILES.items():
        path = shared / "world_bank_wdi" / name
        pages = api_pages(path, wanted)
        first_year, last_year = pages.pop("_years")
        last_updated = next(iter(pages.values()))[0]
        writer = LandingWriter(
            out, SOURCE, licence=LICENCE,
            fetch_id=f"{last_updated}__wdi-bulk__{Path(name).stem}",
            metadata={
                "converted_from": {"file": f"world_bank_wdi/{name}", "sha256": file_sha256(path)},
                "converted_by": f"scripts/build_snapshot.py, orchestration/sources/worldbank/snapshot.py (bulk {'Excel' if path.suffix == '.xls' else 'CSV'} -> API v2 JSON, values unchanged)",
                "countries": list(wanted),
            },
        )
        countries_in_file = tuple(c for c in wanted if any(r["countryiso3code"] == c for _, rows in pages.values() for r in rows))
        for indicator, (updated, rows) in sorted(pages.items()):
            header = {"page": 1, "pages": 1, "per_page": PER_PAGE, "total": len(rows), "sourceid": "2",
                      "sourcename": "World Development Indicators", "lastupdated": updated}
            body = json.dumps([header, rows], ensure_ascii=False, separators=(",", ":")).encode()
            url = indicator_url(WORLDBANK_API, countries_in_file, indicator, int(first_year), int(last_year))
            writer.add(page_file_name(indicator, countries_in_file, 1), body, url=url,
                       headers={"Content-Type": "application/json;charset=utf-8"}, fetched_at=None)
            _check_round_trip(path, body, indicator)
        writer.finish()


def _check_round_trip(path: Path, body: bytes, indicator: str) -> None:
    _, _, rows = read_bulk_file(path)
    csv_values = {(r["Country Code"], y): r[y] for r in rows if r["Indicator Code"] == indicator for y in r if y and y.isdigit()}
    for row in json.loads(body)[1]:
        text = csv_values[(row["countryiso3code"], row["date"])].strip()
        if (row["value"] is None) != (text == "") or (row["value"] is not None and float(row["value"]) != float(text)):
            raise AssertionError(f"{path.name} {indicator} {row['countryiso3code']} {row['date']}: {row['value']!r} != {text!r}")
