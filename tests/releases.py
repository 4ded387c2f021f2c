"""Publisher releases for tests: the bundled snapshot's landings, and new releases made from them
in the publishers' own formats (a newer World Bank vintage of a series, as the API serves it)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from orchestration.transport import LandingWriter, list_landings
from tests.conftest import SNAPSHOT_DIR

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
        writer.add(landed.file, json.dumps([header, rows]).encode(), url=with_years(landed.url, new_years), status=200,
                   headers={"Content-Type": "application/json;charset=utf-8"}, fetched_at=None)
    return writer.finish(complete=True).path


def with_years(url: str, years: tuple[int, ...]) -> str:
    """The API request ``url`` with its ``date`` range widened to ``years``: the parser refuses rows
    outside the years a page was requested for, so a release with new years was asked for them."""
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    first, _, last = query.get("date", "").partition(":")
    if not (years and first.isdigit()):
        return url
    query["date"] = f"{min(int(first), *years)}:{max(int(last or first), *years)}"
    return urlunsplit(parts._replace(query=urlencode(query, safe=":")))


def newest_published_values(indicator: str) -> dict[tuple[str, int], float]:
    """(country, year) -> the value of the newest bundled World Bank release of ``indicator`` that has one."""
    dated = []
    for landing in list_landings(SNAPSHOT_DIR, "worldbank"):
        for landed in landing.files:
            if f"/indicator/{indicator}" in landed.url:
                header, rows = json.loads(landed.read_bytes())
                dated += [(header["lastupdated"], row["countryiso3code"], int(row["date"]), row["value"])
                          for row in rows if row["value"] is not None]
    return {(iso3, year): value for _, iso3, year, value in sorted(dated)}


def new_homicide_release(root: Path, fetch_id: str = "2026-06-30__synthetic__VC.IHR.PSRC.P5",
                         lastupdated: str = "2026-06-30", drop_years: tuple[int, ...] = ()) -> Path:
    """The homicide series again, as the issue's operator saw it: a newer vintage that adds 2023 and
    2024 for every country, fills the recent years the older release left empty, and revises each
    earlier value by -1 %. ``drop_years``: years this release no longer has a value for."""
    base = json.loads(next(bundled_landing("worldbank", HOMICIDES_2024).glob("*p001.json")).read_bytes())[1]
    latest = {}
    for row in sorted(base, key=lambda row: int(row["date"])):
        if row["value"] is not None:
            latest[row["countryiso3code"]] = row["value"]
    # a year a later bundled release already published is revised from that value (a release that
    # jumped from it would fail the plausibility check, as it should)
    published = newest_published_values("VC.IHR.PSRC.P5")

    def revise(iso3: str, year: int, value: float | None) -> float | None:
        if year in drop_years:
            return None
        if year in (2023, 2024) or (value is None and year >= 2020):
            return round(published.get((iso3, year), latest[iso3]) * (0.97 if year < 2024 else 0.94), 6)
        return None if value is None else round(value * 0.99, 6)

    return worldbank_release(root, fetch_id, HOMICIDES_2024, lastupdated, revise, new_years=(2023, 2024))
