"""UNHCR's part of the bundled snapshot: the ``refugees`` package's CSV extracts in ``shared/sources``
converted once into the population statistics API v1 JSON pages the live fetch receives, values
unchanged, the round trip checked."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from orchestration.core.settings import DEFAULT_COUNTRIES
from orchestration.fetch.archive import LandingWriter
from orchestration.fetch.snapshot import SNAPSHOT_FIRST_YEAR, file_sha256, number_token
from orchestration.sources.unhcr.fetch import ASYLUM_COUNTRY, ENDPOINT_ORDER, PAGE_SIZE, endpoint_query, page_file_name, page_url
from orchestration.sources.unhcr.parse import LICENCE, POPULATION, POPULATION_COUNTS, SOURCE, parse_landing

UNHCR_API = "https://api.unhcr.org/population/v1"

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
                and (endpoint not in ("asylum-applications", "asylum-decisions") or row["coa_iso"] == ASYLUM_COUNTRY)]
    items = [unhcr_item(row) for row in rows]
    size = PAGE_SIZE
    return [items[start:start + size] for start in range(0, len(items), size)] or [[]]


def build(shared: Path, out: Path) -> None:
    last_year = max(int(row["year"]) for row in csv.DictReader(open(shared / UNHCR_EXTRACTS["population"], encoding="utf-8")))
    writer = LandingWriter(
        out, SOURCE, licence=LICENCE, fetch_id=f"{UNHCR_VINTAGE}__refugees-package-{UNHCR_PACKAGE}",
        metadata={
            "vintage": UNHCR_VINTAGE,
            "vintage_note": f"UNHCR refugees R package {UNHCR_PACKAGE} (end-2025 data update), as committed on {UNHCR_VINTAGE}",
            "converted_from": {endpoint: {"file": relative, "sha256": file_sha256(shared / relative)} for endpoint, relative in UNHCR_EXTRACTS.items()},
            "converted_by": "scripts/build_snapshot.py, orchestration/sources/unhcr/snapshot.py (package CSV extracts -> API v1 JSON pages, values unchanged)",
            "countries": list(DEFAULT_COUNTRIES),
        },
    )
    for endpoint in ENDPOINT_ORDER:
        path = shared / UNHCR_EXTRACTS[endpoint]
        for origin in DEFAULT_COUNTRIES:
            query = endpoint_query(endpoint, origin, SNAPSHOT_FIRST_YEAR, last_year)
            pages = unhcr_pages(path, endpoint, origin, last_year)
            for number, items in enumerate(pages, start=1):
                body = json.dumps({"page": number, "maxPages": len(pages), "total": [], "items": items},
                                  ensure_ascii=False, separators=(",", ":")).encode()
                writer.add(page_file_name(endpoint, origin, number), body,
                           url=page_url(UNHCR_API, endpoint, query, number),
                           headers={"Content-Type": "application/json"}, fetched_at=None)
    landing = writer.finish()
    _check_unhcr_round_trip(shared, landing)


def _check_unhcr_round_trip(shared: Path, landing) -> None:
    """Every count the parser reads from the pages equals the extract's cell."""
    import pandas as pd

    frames = parse_landing(landing, DEFAULT_COUNTRIES, SNAPSHOT_FIRST_YEAR, 9999)
    with open(shared / UNHCR_EXTRACTS["population"], newline="", encoding="utf-8") as handle:
        expected = {(r["coo_iso"], r["coa_iso"], int(r["year"])): r for r in csv.DictReader(handle) if int(r["year"]) >= SNAPSHOT_FIRST_YEAR}
    population = frames[POPULATION]
    if len(population) != len(expected):
        raise AssertionError(f"UNHCR population: {len(population)} rows parsed, {len(expected)} in the extract")
    for row in population.itertuples(index=False):
        cells = expected[(row.origin_iso3, row.asylum_iso3, row.year)]
        for name in POPULATION_COUNTS:
            value, text = getattr(row, name), cells[name]
            if (text == "") != pd.isna(value) or (text and int(text) != int(value)):
                raise AssertionError(f"UNHCR {row.origin_iso3} {row.asylum_iso3} {row.year} {name}: {value!r} != {text!r}")
