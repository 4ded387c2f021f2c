"""Build the bundled replay snapshot (``snapshot/``) from the publishers' files in ../shared/sources.

Run once by a maintainer when the bundle changes (``.venv/bin/python scripts/build_snapshot.py``);
its output is committed. Every landing gets the same manifest a live fetch writes, plus the
origin of the bytes (see snapshot/PROVENANCE.md).

The World Bank files are bulk CSVs, but the live source is the API's JSON; each bulk CSV is
converted here, once, into the JSON pages the API serves for the same query, values unchanged
(each number is written from the CSV's own text; the script checks the round trip), so replay runs
the same parser as live. The other sources' files are copied byte for byte.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from orchestration.countries import countries  # noqa: E402
from orchestration.settings import DEFAULT_COUNTRIES, FIRST_YEAR  # noqa: E402
from orchestration.sources import worldbank  # noqa: E402
from orchestration.transport import LandingWriter  # noqa: E402

WORLDBANK_API = "https://api.worldbank.org/v2"

# bulk file -> the countries the conversion takes from it (a per-country file has only its own)
WDI_BULK_FILES = {
    "API_HND_DS2_es_csv_v2_21843.csv": ("HND",),
    "API_SL.UEM.TOTL.ZS_DS2_en_csv_v2_36.csv": DEFAULT_COUNTRIES,
    "API_SL.TLF.TOTL.IN_DS2_en_csv_v2_761.csv": DEFAULT_COUNTRIES,
    "API_SE.PRM.CMPT.ZS_DS2_en_csv_v2_23374.csv": DEFAULT_COUNTRIES,
    "API_VC.IHR.PSRC.P5_DS2_en_csv_v2_4355130.csv": DEFAULT_COUNTRIES,
    "API_VC.IHR.PSRC.P5_DS2_en_csv_v2_3892.csv": DEFAULT_COUNTRIES,
    "API_SP.POP.TOTL_DS2_en_csv_v2_85.csv": DEFAULT_COUNTRIES,
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
}


def read_bulk_csv(path: Path) -> tuple[str, list[str], list[dict[str, str]]]:
    """(last updated date, year columns, rows) of a WDI bulk CSV."""
    text = path.read_text(encoding="utf-8-sig")
    lines = text.splitlines()
    last_updated = next(row for row in csv.reader(lines[:4]) if row and row[0] == "Last Updated Date")[1]
    reader = csv.DictReader(io.StringIO("\n".join(lines[4:])))
    years = [name for name in reader.fieldnames if name and name.isdigit()]
    return last_updated, years, list(reader)


def number_token(text: str):
    """The CSV's number as JSON would carry it: an int stays an int, a float keeps its value."""
    value = json.loads(text)
    if not isinstance(value, (int, float)) or float(value) != float(text):
        raise ValueError(f"cannot carry {text!r} as a JSON number")
    return value


def api_pages(path: Path, wanted: tuple[str, ...]) -> dict[str, tuple[str, list]]:
    """indicator -> (lastupdated, rows) as the API returns them (country order, years descending)."""
    last_updated, years, rows = read_bulk_csv(path)
    years = [y for y in years if int(y) >= FIRST_YEAR]
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
                "converted_by": "scripts/build_snapshot.py (bulk CSV -> API v2 JSON, values unchanged)",
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
    _, _, rows = read_bulk_csv(path)
    csv_values = {(r["Country Code"], y): r[y] for r in rows if r["Indicator Code"] == indicator for y in r if y and y.isdigit()}
    for row in json.loads(body)[1]:
        text = csv_values[(row["countryiso3code"], row["date"])].strip()
        if (row["value"] is None) != (text == "") or (row["value"] is not None and float(row["value"]) != float(text)):
            raise AssertionError(f"{path.name} {indicator} {row['countryiso3code']} {row['date']}: {row['value']!r} != {text!r}")


def _sha(path: Path) -> str:
    from orchestration.transport import sha256_bytes
    return sha256_bytes(path.read_bytes())


def build_copies(shared: Path, out: Path, sources: list[str]) -> None:
    for source in sources:
        for fetch_id, files, licence, metadata in COPIED[source]:
            writer = LandingWriter(out, source, licence=licence, fetch_id=fetch_id,
                                   metadata={"copied_from": "../shared/sources (see snapshot/PROVENANCE.md)", **metadata})
            for relative, url in files:
                body = (shared / relative).read_bytes()
                writer.add(Path(relative).name, body, url=url, fetched_at=None)
            writer.finish()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parent.parent.parent / "shared" / "sources")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "snapshot")
    parser.add_argument("--source", action="append", choices=["worldbank", *COPIED], help="rebuild only these sources")
    args = parser.parse_args()
    sources = args.source or ["worldbank", *COPIED]
    for source in sources:
        if (args.out / source).exists():
            shutil.rmtree(args.out / source)
    if "worldbank" in sources:
        build_worldbank(args.shared, args.out)
    build_copies(args.shared, args.out, [s for s in sources if s != "worldbank"])
    print(f"snapshot written to {args.out}")


if __name__ == "__main__":
    main()
