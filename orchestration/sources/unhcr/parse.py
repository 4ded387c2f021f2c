"""UNHCR population statistics API v1 (JSON pages) -> displacement stocks by origin, IDMC's IDP
figures, and asylum applications and decisions in the USA.

Four endpoints, told apart by the request's path, every one paged the same way
(``{"page": n, "maxPages": m, "items": [...]}``) with UNHCR's column names (``coo_*`` country of
origin, ``coa_*`` country of asylum):

* ``population/``: end-year stocks per origin x asylum country (refugees, asylum_seekers, idps,
  ...); IDPs sit in the row whose asylum country is the origin;
* ``idmc/``: the Internal Displacement Monitoring Centre's conflict and violence IDPs, as UNHCR
  republishes them (a different definition from UNHCR's ``idps``: never mixed);
* ``asylum-applications/`` and ``asylum-decisions/``: per origin, asylum country, procedure
  (``procedure_type``), authority level (``dec_level``: IN = USCIS, EO = immigration courts, AR =
  appeals...) and unit (``app_pc`` / ``dec_pc``: C = cases, P = persons, which changes over time).

Counts are published with small cells rounded (UNHCR's disclosure rule: many exact 5s); a missing
value (``null``, ``"-"`` or empty) is kept missing, never a zero. The bundled snapshot holds the
UNHCR ``refugees`` package data converted once to these pages by ``scripts/build_snapshot.py``.

The vintage of a landing is the date its figures are as of: the release date the snapshot's
manifest records, or the day of a live fetch (the API carries no release stamp).
"""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit

import pandas as pd

from orchestration.core.countries import known_iso3
from orchestration.core.errors import SourceFormatError
from orchestration.fetch.archive import Landing
from orchestration.fetch.cells import LINEAGE_COLUMNS, file_columns, json_pointer
from orchestration.fetch.http import check_body_kind
from orchestration.fetch.paging import Answer, Page, PagingContract, check_answer_complete, collect

SOURCE = "unhcr"
SOURCE_ID = "unhcr_population"
LICENCE = "CC BY 4.0 (UNHCR Refugee Data Finder)"

POPULATION = "unhcr_population"
IDMC = "unhcr_idmc_idps"
APPLICATIONS = "unhcr_asylum_applications"
DECISIONS = "unhcr_asylum_decisions"

# endpoint (last path segment) -> dataset
ENDPOINTS = {"population": POPULATION, "idmc": IDMC, "asylum-applications": APPLICATIONS, "asylum-decisions": DECISIONS}

POPULATION_COUNTS = ["refugees", "asylum_seekers", "returned_refugees", "idps", "returned_idps", "stateless", "ooc", "oip", "hst"]
DECISION_COUNTS = ["dec_recognized", "dec_other", "dec_rejected", "dec_closed", "dec_total"]
COUNT_UNITS = {"C": "cases", "P": "persons"}

_KEY_COLUMNS = ["vintage", "year", "origin_iso3", "asylum_iso3"]
# the lineage columns: an item holds several counts, so its place is the item's pointer
# (``pointer=/items/<n>``); marts.kpi_lineage appends the count's name (``/refugees``)
_TAIL = ["source_url", "fetch_id", *LINEAGE_COLUMNS]
COLUMNS = {
    POPULATION: [*_KEY_COLUMNS, "asylum_name", *POPULATION_COUNTS, *_TAIL],
    IDMC: ["vintage", "year", "origin_iso3", "idps", *_TAIL],
    APPLICATIONS: [*_KEY_COLUMNS, "procedure_type", "application_type", "authority_level", "count_unit", "applied", *_TAIL],
    DECISIONS: [*_KEY_COLUMNS, "procedure_type", "authority_level", "count_unit", *DECISION_COUNTS, *_TAIL],
}
# The page size the fetch asks for (``limit``), and what the API's page header states: no total, so
# a full last page is followed by a request for the next one (a header that under-reports its pages
# is caught there) and every page but the last must hold as many items as page 1.
PAGE_SIZE = 1000
PAGING = PagingContract(page_field="page", pages_field="maxPages", requested_page_size=PAGE_SIZE)

_INTEGER_TEXT = re.compile(r"^\d+$")
_MISSING = (None, "", "-")


def parse_page(body: bytes, location: str) -> tuple[dict, list[dict]]:
    """(header, items) of one API page; anything but the paged shape raises."""
    check_body_kind(SOURCE, location, body, "json")
    try:
        payload = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SourceFormatError(SOURCE, location, f"response is not valid JSON ({exc}); truncated download?") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("items"), list):
        detail = payload.get("message") or payload.get("detail") if isinstance(payload, dict) else None
        raise SourceFormatError(SOURCE, location, "unexpected JSON: expected {page, maxPages, items}"
                                + (f"; the API said: {str(detail)[:300]}" if detail else ""))
    for key in ("page", "maxPages"):
        if not isinstance(payload.get(key), int):
            raise SourceFormatError(SOURCE, location, f"page header has no whole-number {key!r}")
    return {"page": payload["page"], "maxPages": payload["maxPages"]}, payload["items"]


def parse_count(value, where: str) -> int | None:
    """A published count as an int; None when the publisher has none (null, "-", empty)."""
    if isinstance(value, str):
        value = value.strip()
    if value in _MISSING:
        return None
    if isinstance(value, bool):
        raise ValueError(f"{where}: {value!r} is not a count")
    if isinstance(value, int) or (isinstance(value, str) and _INTEGER_TEXT.match(value)):
        number = int(value)
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    else:
        raise ValueError(f"{where}: {value!r} is not a whole count")
    if number < 0:
        raise ValueError(f"{where}: {value!r} is negative")
    return number


def request_key(url: str) -> tuple[str, str, int]:
    """(endpoint, the query without its page, page) of an API request URL."""
    parts = urlsplit(url)
    endpoint = parts.path.rstrip("/").rsplit("/", 1)[-1]
    query = parse_qs(parts.query)
    page = int(query.pop("page", ["1"])[0])
    return endpoint, urlencode(sorted((key, values[0]) for key, values in query.items())), page


def _field(item: dict, name: str, location: str):
    if name not in item:
        raise SourceFormatError(SOURCE, location, f"item without {name!r}: {json.dumps(item)[:300]}")
    return item[name]


def _row(endpoint: str, item: dict, location: str) -> dict:
    """One item as a row of its dataset (counts parsed, UNHCR's columns renamed once, here)."""
    try:
        year = int(_field(item, "year", location))
    except (TypeError, ValueError):
        raise SourceFormatError(SOURCE, location, f"year {item.get('year')!r} is not a year") from None
    where = f"{item.get('coo_iso')} {year}"
    row = {"year": year, "origin_iso3": str(_field(item, "coo_iso", location)).strip()}
    try:
        if endpoint == "idmc":
            row["idps"] = parse_count(_field(item, "total", location), f"{where} total")
            return row
        row["asylum_iso3"] = str(_field(item, "coa_iso", location)).strip()
        if endpoint == "population":
            row["asylum_name"] = item.get("coa_name")
            row.update({name: parse_count(item.get(name), f"{where} {name}") for name in POPULATION_COUNTS})
            return row
        row["procedure_type"] = _field(item, "procedure_type", location)
        row["authority_level"] = _field(item, "dec_level", location)
        unit_field = "app_pc" if endpoint == "asylum-applications" else "dec_pc"
        unit = _field(item, unit_field, location)
        if unit not in COUNT_UNITS:
            raise SourceFormatError(SOURCE, location, f"{where}: {unit_field} {unit!r} is not C (cases) or P (persons)")
        row["count_unit"] = COUNT_UNITS[unit]
        if endpoint == "asylum-applications":
            row["application_type"] = _field(item, "app_type", location)
            row["applied"] = parse_count(_field(item, "applied", location), f"{where} applied")
        else:
            row.update({name: parse_count(_field(item, name, location), f"{where} {name}") for name in DECISION_COUNTS})
    except ValueError as exc:
        raise SourceFormatError(SOURCE, location, str(exc)) from None
    return row


def landing_vintage(landing: Landing) -> str:
    vintage = str(landing.metadata.get("vintage", ""))
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", vintage):
        raise SourceFormatError(SOURCE, str(landing.path / "manifest.json"),
                                f"manifest metadata has no vintage date (YYYY-MM-DD): {vintage!r}")
    return vintage


def _check_item_asked_for(item: dict, row: dict, asked: dict[str, str], page: int, location: str) -> None:
    """Every item is for the origin, the years and (asylum endpoints) the asylum country asked for."""
    where = f"page {page}: an item for {row['origin_iso3']} {row['year']}"
    if asked.get("coo") and row["origin_iso3"] != asked["coo"]:
        raise SourceFormatError(SOURCE, location, f"{where}, but origin {asked['coo']} was requested")
    first, last = asked.get("yearFrom", ""), asked.get("yearTo", "")
    if (first.isdigit() and row["year"] < int(first)) or (last.isdigit() and row["year"] > int(last)):
        raise SourceFormatError(SOURCE, location, f"{where}, outside the requested years {first}-{last}")
    if asked.get("coa") and str(item.get("coa_iso", "")).strip() != asked["coa"]:
        raise SourceFormatError(SOURCE, location, f"{where} in asylum country {item.get('coa_iso')!r}, but {asked['coa']} was requested")


def _item_identity(endpoint: str):
    """What makes an item unique in one answer (a repeated one is a page slipping)."""
    def identity(item: dict) -> str:
        keys = ("year", "coo_iso", "coa_iso", "procedure_type", "app_type", "dec_level", "app_pc", "dec_pc")
        return "for " + " ".join(str(item.get(key)) for key in keys if key in item)
    return identity


def parse_landing(landing: Landing, countries: tuple[str, ...], first_year: int, last_year: int) -> dict[str, pd.DataFrame]:
    """Every page of one landing; an answer that is not whole (orchestration/fetch/paging.py: a page
    missing, repeated or beyond what the header says, a short page, a header that under-reports its
    pages) or an item for something not asked for fails the landing."""
    vintage = landing_vintage(landing)
    rows: dict[str, list[dict]] = {dataset: [] for dataset in ENDPOINTS.values()}
    answers: dict[str, Answer] = {}
    endpoints: dict[str, str] = {}
    known, wanted = known_iso3(), set(countries)
    for landed in landing.files:
        if landed.file.endswith(".html"):
            continue
        location = f"{landed.url} (archived as {landed.path})"
        endpoint, query, page = request_key(landed.url)
        if endpoint not in ENDPOINTS:
            raise SourceFormatError(SOURCE, location, f"unexpected endpoint {endpoint!r}: expected one of {sorted(ENDPOINTS)}")
        header, items = parse_page(landed.read_bytes(), location)
        collect(answers, f"{endpoint}?{query}", Page(page, header, items, location), SOURCE)
        endpoints[f"{endpoint}?{query}"] = endpoint
        asked = dict(parse_qsl(query))
        archived = file_columns(landed)
        for item_index, item in enumerate(items):
            row = _row(endpoint, item, location)
            _check_item_asked_for(item, row, asked, page, location)
            if row["origin_iso3"] not in wanted or not first_year <= row["year"] <= last_year:
                continue
            if row["origin_iso3"] not in known:
                raise SourceFormatError(SOURCE, location, f"unknown origin code {row['origin_iso3']!r}")
            rows[ENDPOINTS[endpoint]].append({**row, "vintage": vintage, "source_url": landed.url, "fetch_id": landing.fetch_id,
                                              **archived, "source_location": json_pointer("items", item_index),
                                              "original_text": None})
    for key, answer in answers.items():
        limit = dict(parse_qsl(key.partition("?")[2])).get("limit", "")
        check_answer_complete(SOURCE, PAGING, answer, f"{landing.path} ({key})", row_key=_item_identity(endpoints[key]),
                              requested_page_size=int(limit) if limit.isdigit() else None)
    return {dataset: _frame(dataset, found) for dataset, found in rows.items()}


def _frame(dataset: str, rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=COLUMNS[dataset])
    frame["year"] = frame["year"].astype("int64")
    counts = {POPULATION: POPULATION_COUNTS, IDMC: ["idps"], APPLICATIONS: ["applied"], DECISIONS: DECISION_COUNTS}[dataset]
    for column in counts:
        frame[column] = frame[column].astype("Int64")  # nullable: a missing count stays missing
    # text even when empty: an item's counts are printed per field, which marts.kpi_lineage reads
    frame["original_text"] = frame["original_text"].astype("string")
    return frame


def combine(frames: list[pd.DataFrame], dataset: str) -> pd.DataFrame:
    """The same vintage landed twice collapses; conflicting rows stay for the suites' key checks."""
    frames = [frame for frame in frames if not frame.empty]
    if not frames:
        return _frame(dataset, [])
    value_columns = [column for column in COLUMNS[dataset] if column not in _TAIL]  # where it was read is not a value
    return pd.concat(frames, ignore_index=True).drop_duplicates(subset=value_columns).reset_index(drop=True)


def parse_landings(landings: list[Landing], countries: tuple[str, ...], first_year: int, last_year: int) -> dict[str, pd.DataFrame]:
    parsed = [parse_landing(landing, countries, first_year, last_year) for landing in landings]
    return {dataset: combine([frames[dataset] for frames in parsed], dataset) for dataset in ENDPOINTS.values()}
