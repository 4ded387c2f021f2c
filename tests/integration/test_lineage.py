"""Issue 27: every published kpi_annual cell explained down to the publisher's own cell.

On the shared full build of the bundled snapshot: each original of ``marts.kpi_lineage`` is found
again by opening the archived file at the recorded location with a reader that is not the
pipeline's parser (openpyxl for workbooks, where the pipeline reads with calamine; the json module
and an RFC 6901 resolver written here for JSON; the csv module; pypdf), the originals recompute
the published value, and the report links every value to its explanation.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import random
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pytest

from orchestration.core.settings import PROJECT_ROOT

pytestmark = pytest.mark.integration

# the roles of each KPI's originals (default: one published value)
ROLES = {
    "employment": ["factor", "percent_deducted"],
    "jobs_created": ["minuend.factor", "minuend.percent_deducted", "subtrahend.factor", "subtrahend.percent_deducted"],
}
# one summand per country of asylum; per new-application row; per published seizure row of a
# cocaine-type drug; per nationality's NIV Grand Total; per H-2 class cell; NIV Grand Total + Table III
SUMMED = {"refugees_by_origin", "asylum_seekers_by_origin", "asylum_applications_usa", "cocaine_seized_kg",
          "visas_nonimmigrant", "visas_temporary_work", "visas_issued"}
SAMPLES_PER_SOURCE = 40


@pytest.fixture(scope="module")
def serving(built_warehouse):
    root, _, _ = built_warehouse
    with duckdb.connect(str(root / "serving" / "kpi.duckdb"), read_only=True) as conn:
        yield conn


def rows(conn, sql: str, params=()) -> list[dict]:
    cursor = conn.execute(sql, list(params))
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def originals_by_cell(conn) -> dict[tuple, list[dict]]:
    cells: dict[tuple, list[dict]] = {}
    for row in rows(conn, "select * from marts.kpi_lineage"):
        cells.setdefault((row["country_iso3"], row["kpi_id"], row["year"]), []).append(row)
    return cells


# --- readers independent of the pipeline's parsers ------------------------------------------------

def resolve_pointer(document, pointer: str):
    """RFC 6901: '/1/37/value' -> document[1][37]['value'] (~1 is '/', ~0 is '~')."""
    node = document
    for token in pointer.split("/")[1:]:
        token = token.replace("~1", "/").replace("~0", "~")
        node = node[int(token)] if isinstance(node, list) else node[token]
    return node


def read_back(path: Path, location: str):
    """The value at ``location`` of the file at ``path``, read without the pipeline's code."""
    if location.startswith("sheet="):
        import openpyxl

        sheet, cell = re.fullmatch(r"sheet=(.*);cell=([A-Z]+[0-9]+)", location).groups()
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
        try:
            return workbook[sheet][cell].value
        finally:
            workbook.close()
    if location.startswith("pointer="):
        return resolve_pointer(json.loads(path.read_bytes()), location.removeprefix("pointer="))
    if location.startswith("line="):
        line, column = re.fullmatch(r"line=(\d+);column=(.*)", location).groups()
        lines = path.read_bytes().decode("utf-8-sig").splitlines()
        header = next(csv.reader([lines[0]]))
        return next(csv.reader([lines[int(line) - 1]]))[header.index(column)]  # the file's own line n
    if location.startswith("page="):
        from pypdf import PdfReader

        return PdfReader(str(path)).pages[int(location.removeprefix("page=")) - 1].extract_text()
    raise AssertionError(f"unknown location form {location!r}")


# --- tests ---------------------------------------------------------------------------------------

def test_every_published_cell_has_its_originals(serving):
    """The issue's target: no published value without at least one original of its own source (a
    population denominator alone explains nothing)."""
    cells = rows(serving, "select country_iso3, kpi_id, year, source_id from marts.kpi_annual")
    assert len(cells) > 2000
    lineage = originals_by_cell(serving)
    unexplained = [cell for cell in cells
                   if not any(o["role"] != "denominator" and o["source_id"] == cell["source_id"]
                              for o in lineage.get((cell["country_iso3"], cell["kpi_id"], cell["year"]), []))]
    assert unexplained == []


def test_every_published_cell_lists_its_originals_in_their_roles(serving):
    cells = rows(serving, "select country_iso3, kpi_id, year, value, value_per_100k, source_id from marts.kpi_annual")
    lineage = originals_by_cell(serving)
    for cell in cells:
        originals = lineage.get((cell["country_iso3"], cell["kpi_id"], cell["year"]), [])
        roles = sorted(o["role"] for o in originals if o["role"] != "denominator")
        if cell["kpi_id"] in SUMMED:
            assert roles and set(roles) == {"summand"}, cell
        else:
            assert roles == ROLES.get(cell["kpi_id"], ["value"]), cell
        denominators = [o for o in originals if o["role"] == "denominator"]
        assert len(denominators) == (1 if cell["value_per_100k"] is not None else 0), cell
        for original in originals:
            assert original["source_id"] == ("worldbank_wdi" if original["role"] == "denominator" else cell["source_id"])
            assert original["file_path"].count("/") == 2 and original["file_path"].split("/")[1] == original["fetch_id"]
    # nothing but published cells
    published = {(c["country_iso3"], c["kpi_id"], c["year"]) for c in rows(serving, "select * from marts.kpi_annual")}
    assert set(lineage) <= published


def test_the_originals_recompute_every_published_value(serving):
    values = {(c["country_iso3"], c["kpi_id"], c["year"]): c for c in rows(serving, "select * from marts.kpi_annual")}
    checked = 0
    for key, originals in originals_by_cell(serving).items():
        cell = values[key]
        by_role = {o["role"]: o["original_value"] for o in originals}

        def employed(prefix: str = "") -> float:
            return round(by_role[f"{prefix}factor"] * (1 - by_role[f"{prefix}percent_deducted"] / 100))

        if "value" in by_role:
            assert by_role["value"] == cell["value"], key
        elif cell["kpi_id"] == "employment":
            assert employed() == cell["value"], key
        elif cell["kpi_id"] == "jobs_created":
            assert employed("minuend.") - employed("subtrahend.") == cell["value"], key
        summands = [o["original_value"] for o in originals if o["role"] == "summand"]
        if summands:  # a cell made of summed originals: the sum is the published value
            assert sum(summands) == pytest.approx(cell["value"], rel=1e-12), key
        if "denominator" in by_role:
            assert cell["value"] / by_role["denominator"] * 100_000 == pytest.approx(cell["value_per_100k"], rel=1e-12), key
        checked += 1
    assert checked > 500
    # the issue's example: Honduras' refugee stock is the sum of one row per country of asylum
    honduras = [o for o in originals_by_cell(serving)[("HND", "refugees_by_origin", 2019)] if o["role"] == "summand"]
    assert len(honduras) > 20 and len({o["location"] for o in honduras}) == len(honduras)


def test_sampled_originals_are_in_the_archived_files_where_the_lineage_says(serving, built_warehouse):
    """For every source, originals sampled at random: the archived file has the recorded sha256, and
    an independent reader finds the recorded value (and printed text) at the recorded location."""
    _, env, _ = built_warehouse
    archive_root = Path(env["KPI_SNAPSHOT_DIR"])  # replay: the bundled snapshot is the archive
    seed = random.randrange(1 << 30)
    sampler = random.Random(seed)
    lineage = rows(serving, "select distinct source_id, file_path, file_sha256, location, original_text, original_value "
                            "from marts.kpi_lineage order by all")
    by_source: dict[str, list[dict]] = {}
    for original in lineage:
        by_source.setdefault(original["source_id"], []).append(original)
    assert set(by_source) == {row["source_id"] for row in rows(serving, "select distinct source_id from marts.kpi_annual")}
    hashes: dict[str, str] = {}
    for source_id, originals in by_source.items():
        for original in sampler.sample(originals, min(SAMPLES_PER_SOURCE, len(originals))):
            path = archive_root / original["file_path"]
            what = f"{source_id} {original['file_path']} {original['location']} (seed {seed})"
            if path not in hashes:
                hashes[path] = hashlib.sha256(path.read_bytes()).hexdigest()
            assert hashes[path] == original["file_sha256"], what
            found = read_back(path, original["location"])
            if original["location"].startswith("page="):
                # the row's whole line (its label and numbers) is on the page; its last number, the
                # total, is the value (the number printed with thousands separators)
                label, *numbers = re.fullmatch(r"(\D.*?)((?:\s+[\d,]+)+)", original["original_text"]).group(1, 2)
                assert label.strip() and original["original_text"] in [line.strip() for line in found.splitlines()], what
                assert numbers[0].split()[-1] == f"{int(original['original_value']):,}", what
            else:
                assert float(found) == original["original_value"], what
                assert original["original_text"] == (str(int(found)) if float(found).is_integer() else str(found)), what


def test_explain_prints_the_value_its_originals_and_its_releases(built_warehouse):
    _, env, _ = built_warehouse
    command = [sys.executable, "-m", "orchestration.cli", "explain", "HND", "removals", "2019"]
    result = subprocess.run(command, env={**os.environ, **env}, capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("Honduras (HND), Removals from the US by DHS (removals), 2019: 40,760 removals")
    assert "sheet=DHS Removals by Citizenship;cell=F69" in out
    assert "dhs_enforcement/2024-08-release/" in out and "(printed '40760')" in out
    assert "removals 2019: 2024-04: 40,760" in out and "removals 2019: 2024-08: 40,760  <- published" in out
    assert "population (divides value_per_100k): " in out and "SP.POP.TOTL, 2019" in out

    missing = subprocess.run([*command[:-1], "1990"], env={**os.environ, **env}, capture_output=True, text=True,
                             cwd=PROJECT_ROOT, timeout=120)
    assert missing.returncode == 1 and "publishes no value for HND removals 1990" in missing.stderr


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs: list[str] = []
        self.fetched: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and attrs.get("href"):
            self.hrefs.append(attrs["href"])
        if attrs.get("src") or (tag == "link" and attrs.get("href")):
            self.fetched.append(attrs.get("src") or attrs["href"])


def page_data(page: str) -> dict:
    return json.loads(page.split('<script type="application/json" id="lineage-data">', 1)[1].split("</script>", 1)[0])


def test_the_report_links_every_value_to_its_explanation_offline(serving, built_warehouse, tmp_path):
    from tests.integration.test_report import chromium, ensure_chromium

    root, _, _ = built_warehouse
    report = _Links()
    report.feed((root / "serving" / "kpi_report.html").read_text(encoding="utf-8"))
    page_path = root / "serving" / "docs" / "kpi_lineage.html"
    lineage_page = page_path.read_text(encoding="utf-8")
    links = [href for href in report.hrefs if href.startswith("docs/kpi_lineage.html#cell-")]
    published = serving.execute("select count(*) from marts.kpi_annual where value is not null").fetchone()[0]
    assert len(links) == published  # every value of the report's tables
    cells = page_data(lineage_page)["cells"]
    assert {href.split("#cell-", 1)[1] for href in links} <= set(cells)  # and the page has each one's data
    page = _Links()
    page.feed(lineage_page)
    assert page.fetched == []  # offline: nothing to fetch, the data and the script are in the page
    # a browser opening a report link shows that cell: its value, each original's place and file
    shown = chromium(ensure_chromium(), tmp_path / "profile", "--virtual-time-budget=10000", "--dump-dom",
                     page_path.as_uri() + "#cell-HND-removals-2019")
    assert shown.returncode == 0, shown.stderr
    rendered = shown.stdout.split('<div id="cell">', 1)[1].split("</div>", 1)[0]
    assert "Honduras, Removals from the US by DHS, 2019: 40,760 removals" in rendered
    assert "<td>sheet=DHS Removals by Citizenship;cell=F69</td>" in rendered and "<td>SP.POP.TOTL 2019</td>" in rendered
    assert "removals 2019: 2024-08: 40,760 (published)" in rendered
    visas = chromium(ensure_chromium(), tmp_path / "profile", "--virtual-time-budget=10000", "--dump-dom",
                     page_path.as_uri() + "#cell-HND-visas_issued-2019").stdout.split('<div id="cell">', 1)[1]
    assert "<td>page=5</td>" in visas and "<td>Honduras 4,390 15 1,598 28 14 6,045</td>" in visas
