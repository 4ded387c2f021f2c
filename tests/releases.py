"""Publisher releases for tests: the bundled snapshot's landings, and new releases made from them
in the publishers' own formats (a newer World Bank vintage of a series, as the API serves it)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from orchestration.fetch.archive import LandingWriter, list_landings
from tests.conftest import COUNTRIES, SNAPSHOT_DIR

HOMICIDES_2024 = "2024-02-21__wdi-bulk__API_VC.IHR.PSRC.P5_DS2_en_csv_v2_3892"


def bundled_landing(source: str, fetch_id: str) -> Path:
    for landing in list_landings(SNAPSHOT_DIR, source):
        if landing.fetch_id == fetch_id:
            return landing.path
    raise KeyError(f"no landing {source}/{fetch_id} in {SNAPSHOT_DIR}")


def worldbank_release(root: Path, fetch_id: str, base_fetch_id: str, lastupdated: str,
                      revise: Callable[[str, int, float | None], float | None], new_years: tuple[int, ...] = ()) -> Path:
    """A new release of the series in a bundled World Bank landing: the same API pages with a newer
    ``lastupdated``, each value ``revise(iso3, year, value)``, and rows for ``new_years`` (valued by
    ``revise(iso3, year, None)``), the header's ``total`` counting them. Written as a complete
    landing under ``root/worldbank/<fetch_id>``."""
    base = next(landing for landing in list_landings(SNAPSHOT_DIR, "worldbank") if landing.fetch_id == base_fetch_id)
    writer = LandingWriter(root, "worldbank", licence=base.licence, fetch_id=fetch_id,
                           metadata={"made_by": "tests/releases.py", "base": base_fetch_id})
    for landed in base.files:
        header, rows = json.loads(landed.read_bytes())
        templates = {row["countryiso3code"]: row for row in rows}
        added = [{**templates[iso3], "date": str(year), "value": None} for year in new_years for iso3 in templates]
        rows = [{**row, "value": revise(row["countryiso3code"], int(row["date"]), row["value"])} for row in [*added, *rows]]
        header = {**header, "lastupdated": lastupdated, "total": header["total"] + len(added)}
        writer.add(landed.file, json.dumps([header, rows]).encode(), url=_asking_for(landed.url, new_years), status=200,
                   headers={"Content-Type": "application/json;charset=utf-8"}, fetched_at=None)
    return writer.finish(complete=True).path


def _asking_for(url: str, new_years: tuple[int, ...]) -> str:
    """The request URL of a page that also carries ``new_years`` (the API's ``date=first:last``)."""
    if not new_years:
        return url
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    first, _, last = query["date"].partition(":")
    query["date"] = f"{first}:{max(int(last or first), *new_years)}"
    return urlunsplit(parts._replace(query=urlencode(query)))


def newest_homicide_values() -> dict[tuple[str, int], float]:
    """(country, year) -> the homicide rate of the newest bundled release that has it."""
    from orchestration.sources import worldbank

    frames = [worldbank.parse_landing(landing, COUNTRIES, 1999, 2026) for landing in list_landings(SNAPSHOT_DIR, "worldbank")]
    rows = [row for frame in frames for row in frame.itertuples() if row.indicator_id == "VC.IHR.PSRC.P5"]
    newest: dict[tuple[str, int], tuple] = {}
    for row in rows:
        key = (row.country_iso3, int(row.year))
        if key not in newest or row.vintage > newest[key][0]:
            newest[key] = (row.vintage, row.value)
    return {key: value for key, (_, value) in newest.items()}


def new_homicide_release(root: Path, fetch_id: str = "2026-06-30__synthetic__VC.IHR.PSRC.P5",
                         lastupdated: str = "2026-06-30", drop_years: tuple[int, ...] = ()) -> Path:
    """The homicide series again, as the issue's operator saw it: a newer vintage of every country's
    series, each value the newest bundled release's revised by -1 %, the years no release had filled
    from the country's latest value and 2023 and 2024 added. ``drop_years``: years this release no
    longer has a value for."""
    newest = newest_homicide_values()
    last_year = {}
    for iso3, year in newest:
        last_year[iso3] = max(year, last_year.get(iso3, year))
    latest = {iso3: newest[(iso3, year)] for iso3, year in last_year.items()}

    def revise(iso3: str, year: int, value: float | None) -> float | None:
        if year in drop_years:
            return None
        if (iso3, year) in newest:
            return round(newest[(iso3, year)] * 0.99, 6)
        if value is None and year < 2020:
            return None
        return round(latest[iso3] * (0.97 if year < 2024 else 0.94), 6)

    return worldbank_release(root, fetch_id, HOMICIDES_2024, lastupdated, revise, new_years=(2023, 2024))


CBP_SBO_AUG_2025 = "cbp-sbo-encounters-fy22-fy25-aug"


def cbp_release_with_september(root: Path, fetch_id: str, scale: Callable[[str], float]) -> Path:
    """A newer CBP Southwest-border release, as CBP publishes its monthly CSV: the bundled rows, and a
    September 2025 whose rows are August 2025's with each citizenship's counts times ``scale(citizenship)``
    (rounded; rows that round to 0 are left out, as CBP leaves out empty rows). Written as a complete
    landing ``root/cbp/<fetch_id>/<fetch_id minus 'cbp-'>.csv``."""
    import csv
    import io

    base = bundled_landing("cbp", CBP_SBO_AUG_2025)
    [original] = [path for path in base.iterdir() if path.suffix == ".csv"]
    text = original.read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    september = []
    for row in rows:
        if row["Fiscal Year"].startswith("2025") and row["Month (abbv)"] == "AUG":
            count = round(int(row["Encounter Count"]) * scale(row["Citizenship Grouping"]))
            if count > 0:
                september.append({**row, "Month (abbv)": "SEP", "Encounter Count": str(count)})
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows + september)
    landing = LandingWriter(root, "cbp", licence="US Government work (public domain)", fetch_id=fetch_id,
                            metadata={"made_by": "tests/releases.py", "base": CBP_SBO_AUG_2025})
    landing.add(f"{fetch_id.removeprefix('cbp-')}.csv", out.getvalue().encode("utf-8"),
                url="https://www.cbp.gov/document/stats/southwest-land-border-encounters", status=200,
                headers={"Content-Type": "text/csv"}, fetched_at=None)
    return landing.finish(complete=True).path
