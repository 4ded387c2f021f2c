"""Build the bundled replay snapshot (``snapshot/``) from the publishers' files in ../shared/sources.

Run once by a maintainer when the bundle changes (``.venv/bin/python scripts/build_snapshot.py``);
its output is committed. Every landing gets the same manifest a live fetch writes, plus the
origin of the bytes (see snapshot/PROVENANCE.md).

Where the bundle holds a series in another format than the live endpoint serves, it is converted
here, once, into the pages the endpoint serves for the same query, values unchanged (the script
checks the round trip), so replay runs the same parser as live:

* World Bank bulk downloads (CSV, and one Excel ``.xls``) -> the API v2 JSON pages; each number is
  written from the file's own text (CSV) or cell (Excel);
* the UNHCR ``refugees`` package extracts (CSV) -> the population statistics API v1 JSON pages.

The other sources' files are copied byte for byte.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import math
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from orchestration.core.countries import countries  # noqa: E402
from orchestration.core.settings import DEFAULT_COUNTRIES, FIRST_YEAR  # noqa: E402
from orchestration.sources import unhcr, worldbank  # noqa: E402
from orchestration.sources.contract import first_input_year  # noqa: E402
from orchestration.fetch.archive import LandingWriter  # noqa: E402

WORLDBANK_API = "https://api.worldbank.org/v2"
UNHCR_API = "https://api.unhcr.org/population/v1"
# the snapshot answers the queries a live fetch makes: from the input year before the first published year
SNAPSHOT_FIRST_YEAR = first_input_year(FIRST_YEAR)
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

# source -> list of (landing id, [(shared file, publisher URL)], licence, metadata). The exact
# download URLs were not recorded where these copies came from: the URL is the publisher's page
# that lists the file, and the metadata says so. Landing ids sort in release order.
_PAGE_ONLY = "exact download URL not recorded by the copy's origin: url is the publisher's listing page"
TABLE_III_INDEX = "https://travel.state.gov/content/travel/en/legal/visa-law0/visa-statistics/annual-reports.html"
COPIED = {
    "state_dept": [
        ("niv-detail-table-fy97-fy24",
         [("state_dept_visas/FYs97-24_NIVDetailTable.xlsx",
           "https://travel.state.gov/content/dam/visas/Statistics/Non-Immigrant-Statistics/NIVDetailTables/FYs97-24_NIVDetailTable.xlsx")],
         "US Government work (public domain)", {}),
        ("visa-office-table-iii-fy00-fy23",
         [(f"state_dept_visas/table_iii_pdfs/FY{fy:02d}_Table_III.pdf", f"{TABLE_III_INDEX}#FY{fy:02d}_Table_III.pdf")
          for fy in range(0, 24)],
         "US Government work (public domain)", {"url_note": _PAGE_ONLY}),
    ],
    "cbp": [
        ("ohss-khsm-encounters-usbp-fy25m11",
         [("cbp_encounters/KHSM_Encounters_USBP_fy25m11.xlsx", "https://ohss.dhs.gov/khsm/cbp-encounters")],
         "US Government work (public domain)",
         {"url_note": _PAGE_ONLY, "original_file_name": "KHSM Encounters (USBP) fy25m11.xlsx"}),
        ("cbp-sbo-encounters-fy22-fy25-aug",
         [("cbp_encounters/sbo-encounters-fy22-fy25-aug.csv", "https://www.cbp.gov/document/stats/southwest-land-border-encounters")],
         "US Government work (public domain)", {"url_note": _PAGE_ONLY}),
    ],
    "foreign_assistance": [
        ("1-country-summary-release-2025-04",
         [("us_foreign_assistance/us_foreign_aid_country.csv",
           "https://s3.amazonaws.com/files.explorer.devtechlab.com/us_foreign_aid_country.csv")],
         "US Government work (public domain); cite ForeignAssistance.gov",
         {"release": "2025-04 or earlier (copy committed 2025-04-02)"}),
        ("2-country-summary-release-2025-11",
         [("us_foreign_assistance/us_foreign_aid_country_2025vintage_HN_GT_SV_NI_MX.csv",
           "https://s3.amazonaws.com/files.explorer.devtechlab.com/us_foreign_aid_country.csv")],
         "US Government work (public domain); cite ForeignAssistance.gov",
         {"release": "2025-11 or earlier (copy committed 2025-11-29)", "extract": "rows of HND, GTM, SLV, NIC, MEX"}),
        ("3-api-by-usg-sector-2026-09-30",
         [("us_foreign_assistance/fa_api_by_usg_sector_HND_GTM_FY2001-FY2026.csv",
           "https://foreignassistance.gov/api/data-api/by-usg-sector.json"),
          ("us_foreign_assistance/fa_api_usg_sector_taxonomy.csv",
           "https://foreignassistance.gov/api/data-api/by-usg-sector.json")],
         "US Government work (public domain); cite ForeignAssistance.gov",
         {"release": "2026-09-30 (site's data last updated), fetched 2026-10-02T05:32:08Z",
          "extract": "HND and GTM rows, transcribed to CSV; see PROVENANCE.md"}),
    ],
    # landing ids sort in release order: April 2024, then August 2024
    "dhs_enforcement": [
        ("2024-04-release",
         [("dhs_ohss_enforcement/24-0809_ohss_immigration-enforcement-and-legal-processes-tables-april-2024.xlsx",
           "https://ohss.dhs.gov/topics/immigration/immigration-enforcement/immigration-enforcement-and-legal-processes-monthly")],
         "US Government work (public domain)",
         {"url_note": _PAGE_ONLY, "release": "April 2024 (posted 2024-08-09; data current as of 2024-05-31)"}),
        ("2024-08-release",
         [("dhs_ohss_enforcement/2024_1206_ohss_immigration-enforcement-and-legal-processes-tables-august-2024.xlsx",
           "https://ohss.dhs.gov/topics/immigration/immigration-enforcement/immigration-enforcement-and-legal-processes-monthly")],
         "US Government work (public domain)",
         {"url_note": _PAGE_ONLY, "release": "August 2024 (posted 2024-12-06; data current as of 2024-09-30)"}),
    ],
    "unodc": [
        ("wdr-2024-annex-7.1-drug-seizures-2018-2022",
         # archived under the publisher's file name (shared/ renamed it drug_seizures_2018_2022.xlsx)
         [("unodc/drug_seizures_2018_2022.xlsx",
           "https://www.unodc.org/documents/data-and-analysis/WDR_2024/Annex/7.1_Drug_seizures_2018-2022.xlsx",
           "7.1_Drug_seizures_2018-2022.xlsx")],
         "UNODC terms: reproduction for non-commercial purposes with acknowledgement of UNODC",
         {"url_note": "exact download URL not recorded by the copy's origin: url follows the publisher's documented pattern",
          "release": "World Drug Report 2024, statistical annex table 7.1"}),
    ],
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


def number_token(text: str):
    """The CSV's number as JSON would carry it: an int stays an int, a float keeps its value."""
    value = json.loads(text)
    if not isinstance(value, (int, float)) or float(value) != float(text):
        raise ValueError(f"cannot carry {text!r} as a JSON number")
    return value


def api_pages(path: Path, wanted: tuple[str, ...]) -> dict[str, tuple[str, list]]:
    """indicator -> (lastupdated, rows) as the API returns them (country order, years descending)."""
    last_updated, years, rows = read_bulk_file(path)
    years = [y for y in years if int(y) >= SNAPSHOT_FIRST_YEAR]
    iso2 = {iso3: row["country_iso2"] for iso3, row in countries().items()}
    by_indicator: dict[str, list] = {}
    for row in rows:
        indicator, iso3 = row["Indicator Code"], row["Country Code"]
        if indicator not in worldbank.INDICATORS or iso3 not in wanted:
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


def build_worldbank(shared: Path, out: Path) -> None:
    for name, wanted in WDI_BULK_FILES.items():
        path = shared / "world_bank_wdi" / name
        pages = api_pages(path, wanted)
        first_year, last_year = pages.pop("_years")
        last_updated = next(iter(pages.values()))[0]
        writer = LandingWriter(
            out, worldbank.SOURCE, licence=worldbank.LICENCE,
            fetch_id=f"{last_updated}__wdi-bulk__{Path(name).stem}",
            metadata={
                "converted_from": {"file": f"world_bank_wdi/{name}", "sha256": _sha(path)},
                "converted_by": f"scripts/build_snapshot.py (bulk {'Excel' if path.suffix == '.xls' else 'CSV'} -> API v2 JSON, values unchanged)",
                "countries": list(wanted),
            },
        )
        countries_in_file = tuple(c for c in wanted if any(r["countryiso3code"] == c for _, rows in pages.values() for r in rows))
        for indicator, (updated, rows) in sorted(pages.items()):
            header = {"page": 1, "pages": 1, "per_page": worldbank.PER_PAGE, "total": len(rows), "sourceid": "2",
                      "sourcename": "World Development Indicators", "lastupdated": updated}
            body = json.dumps([header, rows], ensure_ascii=False, separators=(",", ":")).encode()
            url = worldbank.indicator_url(WORLDBANK_API, countries_in_file, indicator, int(first_year), int(last_year))
            writer.add(worldbank.page_file_name(indicator, countries_in_file, 1), body, url=url,
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


# --- UNHCR: the refugees package's extracts -> API v1 pages --------------------------------------

UNHCR_PACKAGE = "2025.12.1"
# the package release (its last commit, a correction of the end-2025 data update of 2026-06-12)
UNHCR_VINTAGE = "2026-06-25"
UNHCR_EXTRACTS = {
    "population": f"unhcr/unhcr_refugees_pkg_{UNHCR_PACKAGE}_population_coo_HND_GTM_SLV_NIC_MEX.csv",
    "idmc": f"unhcr/unhcr_refugees_pkg_{UNHCR_PACKAGE}_idmc_coo_HND_GTM_SLV_NIC_MEX.csv",
    "asylum-applications": f"unhcr/unhcr_refugees_pkg_{UNHCR_PACKAGE}_asylum_applications_coo_HND_GTM_SLV_NIC_MEX.csv",
    "asylum-decisions": f"unhcr/unhcr_refugees_pkg_{UNHCR_PACKAGE}_asylum_decisions_coo_HND_GTM_SLV_NIC_MEX.csv",
}
# package columns that are counts (carried as JSON numbers; an empty cell, R's NA, as null)
UNHCR_TEXT_COLUMNS = {"coo_name", "coo", "coo_iso", "coa_name", "coa", "coa_iso", "procedure_type", "app_type",
                      "dec_level", "app_pc", "dec_pc"}


def unhcr_item(row: dict[str, str]) -> dict:
    """A package row as an API item: the same field names, text as text, counts as JSON numbers."""
    item = {}
    for name, text in row.items():
        if name == "year":
            item[name] = int(text)
        elif name in UNHCR_TEXT_COLUMNS:
            item[name] = text
        else:
            item[name] = number_token(text) if text.strip() else None
    return item


def unhcr_pages(path: Path, endpoint: str, origin: str, last_year: int) -> list[list[dict]]:
    """The items the API answers for one endpoint and origin, split into its pages."""
    with open(path, newline="", encoding="utf-8") as handle:
        rows = [row for row in csv.DictReader(handle)
                if row["coo_iso"] == origin and SNAPSHOT_FIRST_YEAR <= int(row["year"]) <= last_year
                and (endpoint not in ("asylum-applications", "asylum-decisions") or row["coa_iso"] == unhcr.ASYLUM_COUNTRY)]
    items = [unhcr_item(row) for row in rows]
    size = unhcr.PAGE_SIZE
    return [items[start:start + size] for start in range(0, len(items), size)] or [[]]


def build_unhcr(shared: Path, out: Path) -> None:
    last_year = max(int(row["year"]) for row in csv.DictReader(open(shared / UNHCR_EXTRACTS["population"], encoding="utf-8")))
    writer = LandingWriter(
        out, unhcr.SOURCE, licence=unhcr.LICENCE, fetch_id=f"{UNHCR_VINTAGE}__refugees-package-{UNHCR_PACKAGE}",
        metadata={
            "vintage": UNHCR_VINTAGE,
            "vintage_note": f"UNHCR refugees R package {UNHCR_PACKAGE} (end-2025 data update), as committed on {UNHCR_VINTAGE}",
            "converted_from": {endpoint: {"file": relative, "sha256": _sha(shared / relative)} for endpoint, relative in UNHCR_EXTRACTS.items()},
            "converted_by": "scripts/build_snapshot.py (package CSV extracts -> API v1 JSON pages, values unchanged)",
            "countries": list(DEFAULT_COUNTRIES),
        },
    )
    for endpoint in unhcr.ENDPOINT_ORDER:
        path = shared / UNHCR_EXTRACTS[endpoint]
        for origin in DEFAULT_COUNTRIES:
            query = unhcr.endpoint_query(endpoint, origin, SNAPSHOT_FIRST_YEAR, last_year)
            pages = unhcr_pages(path, endpoint, origin, last_year)
            for number, items in enumerate(pages, start=1):
                body = json.dumps({"page": number, "maxPages": len(pages), "total": [], "items": items},
                                  ensure_ascii=False, separators=(",", ":")).encode()
                writer.add(unhcr.page_file_name(endpoint, origin, number), body,
                           url=unhcr.page_url(UNHCR_API, endpoint, query, number),
                           headers={"Content-Type": "application/json"}, fetched_at=None)
    landing = writer.finish()
    _check_unhcr_round_trip(shared, landing)


def _check_unhcr_round_trip(shared: Path, landing) -> None:
    """Every count the parser reads from the pages equals the extract's cell."""
    import pandas as pd

    frames = unhcr.parse_landing(landing, DEFAULT_COUNTRIES, SNAPSHOT_FIRST_YEAR, 9999)
    with open(shared / UNHCR_EXTRACTS["population"], newline="", encoding="utf-8") as handle:
        expected = {(r["coo_iso"], r["coa_iso"], int(r["year"])): r for r in csv.DictReader(handle) if int(r["year"]) >= SNAPSHOT_FIRST_YEAR}
    population = frames[unhcr.POPULATION]
    if len(population) != len(expected):
        raise AssertionError(f"UNHCR population: {len(population)} rows parsed, {len(expected)} in the extract")
    for row in population.itertuples(index=False):
        cells = expected[(row.origin_iso3, row.asylum_iso3, row.year)]
        for name in unhcr.POPULATION_COUNTS:
            value, text = getattr(row, name), cells[name]
            if (text == "") != pd.isna(value) or (text and int(text) != int(value)):
                raise AssertionError(f"UNHCR {row.origin_iso3} {row.asylum_iso3} {row.year} {name}: {value!r} != {text!r}")


def _sha(path: Path) -> str:
    from orchestration.fetch.archive import sha256_bytes
    return sha256_bytes(path.read_bytes())


def build_copies(shared: Path, out: Path, sources: list[str]) -> None:
    for source in sources:
        for fetch_id, files, licence, metadata in COPIED[source]:
            writer = LandingWriter(out, source, licence=licence, fetch_id=fetch_id,
                                   metadata={"copied_from": "../shared/sources (see snapshot/PROVENANCE.md)", **metadata})
            for relative, url, *archived_as in files:
                body = (shared / relative).read_bytes()
                writer.add(archived_as[0] if archived_as else Path(relative).name, body, url=url, fetched_at=None)
            writer.finish()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parent.parent.parent / "shared" / "sources")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "snapshot")
    converted = {"worldbank": build_worldbank, "unhcr": build_unhcr}
    parser.add_argument("--source", action="append", choices=[*converted, *COPIED], help="rebuild only these sources")
    args = parser.parse_args()
    sources = args.source or [*converted, *COPIED]
    for source in sources:
        if (args.out / source).exists():
            shutil.rmtree(args.out / source)
    for source, build in converted.items():
        if source in sources:
            build(args.shared, args.out)
    build_copies(args.shared, args.out, [s for s in sources if s not in converted])
    print(f"snapshot written to {args.out}")


if __name__ == "__main__":
    main()
