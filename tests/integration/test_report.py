"""The KPI report: written after each publication from the serving copy, rendered by headless Chromium.

Chromium (Debian's ``chromium`` package) is installed with apt-get when absent, so the test runs in
CI rather than skipping. The page carries a tiny inline probe that records what the browser laid
out on each chart (marks drawn, and how far Honduras' points stand from the zero line, in rendered
pixels); ``--dump-dom`` returns the DOM after it ran. Screenshots at 1400 and 700 px are kept under
pytest's basetemp (``report-screenshots*``) for a person to look at.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pytest

from orchestration.publish.publication import SERVING_FILE, current_publication
from orchestration.publish.publication import REPORT_FILE
from orchestration.publish.report import format_change, format_value

pytestmark = pytest.mark.integration

WIDTHS = (1400, 700)
# Honduras must not be flattened: its points reach at least this share of the plot's height away from zero.
MIN_FOCUS_SPREAD = 0.10


def ensure_chromium() -> str:
    found = shutil.which("chromium")
    if found:
        return found
    if os.geteuid() != 0:
        pytest.fail("chromium is not installed and installing it needs root: apt-get install -y chromium")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update"], check=True, capture_output=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", "chromium"], check=True, capture_output=True, env=env)
    found = shutil.which("chromium")
    assert found, "apt-get installed chromium but it is not on PATH"
    return found


def chromium(binary: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    # every host resolves to nothing: a page that needed the network would show it
    return subprocess.run(
        [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
         "--host-resolver-rules=MAP * ~NOTFOUND", f"--user-data-dir={profile}", *args],
        capture_output=True, text=True, timeout=120,
    )


class ReportParser(HTMLParser):
    """Charts (with the figure each sits in and its source line), table headers, footer text, fetched URLs."""

    def __init__(self):
        super().__init__()
        self.charts: list[dict] = []
        self.sources: dict[str, str] = {}
        self.header_rows: list[list[str]] = []
        self.body: dict = {}
        self.fetched: list[str] = []
        self.footer_text = ""
        self._figure: str | None = None
        self._in_source = self._in_footer = self._in_th = False
        self._row: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = (attrs.get("class") or "").split()
        if tag == "figure":
            self._figure = attrs.get("data-kpi")
        if tag == "svg" and "kpi-chart" in classes:
            self.charts.append({**attrs, "figure": self._figure})
        if tag == "p" and "source" in classes and self._figure:
            self._in_source = True
            self.sources[self._figure] = ""
        if tag == "body":
            self.body = attrs
        if tag == "footer":
            self._in_footer = True
        if tag == "thead":
            self._row = []
        if tag == "th" and self._row is not None:
            self._in_th = True
            self._row.append("")
        # what a browser would fetch: src of anything, href of stylesheets/icons (a link a reader clicks is not fetched)
        if attrs.get("src") or (tag == "link" and attrs.get("href")):
            self.fetched.append(attrs.get("src") or attrs["href"])

    def handle_endtag(self, tag):
        if tag == "figure":
            self._figure = None
        if tag == "p":
            self._in_source = False
        if tag == "footer":
            self._in_footer = False
        if tag == "th":
            self._in_th = False
        if tag == "thead" and self._row is not None:
            self.header_rows.append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._in_source and self._figure:
            self.sources[self._figure] += data
        if self._in_footer:
            self.footer_text += data
        if self._in_th and self._row is not None:
            self._row[-1] += data


def parse(html: str) -> ReportParser:
    parser = ReportParser()
    parser.feed(html)
    return parser


@pytest.fixture(scope="module")
def report(built_warehouse):
    root, _, _ = built_warehouse
    return root / "serving"


@pytest.fixture(scope="module")
def kpis(report):
    with duckdb.connect(str(report / SERVING_FILE), read_only=True) as conn:
        cursor = conn.execute("select * from marts.dim_kpi")
        names = [d[0] for d in cursor.description]
        return {row[0]: dict(zip(names, row)) for row in cursor.fetchall()}


@pytest.mark.parametrize("width", WIDTHS)
def test_every_chart_renders_with_its_source_and_honduras_visible(report, kpis, width, tmp_path, tmp_path_factory):
    binary = ensure_chromium()
    page = (report / REPORT_FILE).resolve()
    result = chromium(binary, tmp_path / "profile", f"--window-size={width},3000", "--dump-dom", page.as_uri())
    assert result.returncode == 0, result.stderr[-3000:]
    dom = parse(result.stdout)
    assert dom.body.get("data-charts-probed") == str(len(kpis)), "the browser did not run the page to its end"
    assert sorted(c["data-kpi"] for c in dom.charts) == sorted(kpis)  # one chart per KPI of dim_kpi
    comparisons = 0
    for chart in dom.charts:
        kpi = kpis[chart["data-kpi"]]
        # drawn by the browser: marks with a real extent
        assert int(chart["data-points"]) > 0, chart["data-kpi"]
        assert int(chart["data-rendered-marks"]) > int(chart["data-points"]) // 2, chart
        assert int(chart["data-rendered-width"]) > 50, chart
        # a source line under the chart: publisher, unit, year basis, vintage
        source = dom.sources[chart["data-kpi"]]
        assert kpi["publisher"] in source and kpi["unit"] in source and "Vintage: " in source, source
        assert ("US fiscal years" if kpi["year_basis"] == "us_fiscal" else "Calendar years") in source, source
        if chart["data-comparison"] == "true":
            comparisons += 1
            spread, plot = int(chart["data-rendered-focus-spread"]), int(chart["data-rendered-plot-height"])
            assert spread >= MIN_FOCUS_SPREAD * plot, f"{chart['data-kpi']}: Honduras flattened ({spread}px of {plot}px)"
    assert comparisons >= len(kpis) - 1  # all but lower-secondary completion (Honduras only) compare countries
    assert dom.fetched == []  # renders offline: nothing to fetch
    assert "<script src" not in (report / REPORT_FILE).read_text()

    shots = tmp_path_factory.mktemp(f"report-screenshots-{width}")
    shot = shots / f"kpi_report-{width}.png"
    result = chromium(binary, tmp_path / "profile2", "--hide-scrollbars", f"--screenshot={shot}",
                      f"--window-size={width},2400", page.as_uri())
    assert result.returncode == 0 and shot.stat().st_size > 50_000, result.stderr[-3000:]


def test_the_framework_kpis_come_first_in_the_frameworks_words(report, kpis):
    html = (report / REPORT_FILE).read_text()
    framework = {kpi["framework_kpi"] for kpi in kpis.values() if kpi["framework_kpi"]}
    assert framework == {"Number of jobs created annually", "Increase in graduation rates",
                         "Number of visas issued per year", "Reduction in crime rates"}
    first_area = html.index('<section class="area"')
    for words in framework:
        assert html.index(f'data-framework-kpi="{words}"') < first_area
    tiles = re.findall(r'<div class="tile" data-framework-kpi="[^"]+">.*?</div>(?:<p class="measure">.*?</p>)+</div>', html)
    assert len(tiles) == 4
    for tile in tiles:  # each with its direction and Honduras' status
        assert "Target direction: " in tile and "Honduras " in tile
        assert re.search(r'class="status (improving|worsening|unchanged|insufficient-data)"', tile), tile
    # then every strategy area of the other measures, as dim_kpi names them
    for area in {kpi["strategy_area"] for kpi in kpis.values() if not kpi["framework_kpi"]}:
        assert f"<h2>{area}</h2>" in html.replace("&amp;", "&")


def test_report_describes_the_current_publication(report):
    record = current_publication(report)
    html = (report / REPORT_FILE).read_text()
    dom = parse(html)
    assert record["publication_id"] in dom.footer_text
    for source, vintages in record["source_vintages"].items():
        assert source in dom.footer_text and str(vintages["newest"]) in dom.footer_text
    assert "licensed under CC BY 4.0" in dom.footer_text and "World Bank, World Development Indicators" in dom.footer_text
    assert "public domain" in dom.footer_text.lower()  # the US Government works
    # the latest value and the change from the baseline, as the scorecard has them
    with duckdb.connect(str(report / SERVING_FILE), read_only=True) as conn:
        latest_year, latest, baseline_year, baseline, change, status = conn.execute(
            "select latest_year, latest_value, baseline_year, baseline_value, change, status from marts.kpi_scorecard "
            "where country_iso3 = 'HND' and kpi_id = 'homicide_rate'").fetchone()
    assert (latest_year, round(latest, 2), status) == (2023, 31.44, "improving")
    assert (f"Honduras {latest_year}: <b>{format_value(latest, 'rate')}</b> per 100,000 people · "
            f"{format_change(change, baseline, 'rate')} since {baseline_year}") in html
    assert "100000" not in html.replace(record["publication_id"], "")
    assert (report / "releases" / record["publication_id"] / REPORT_FILE).read_text() == html


def test_tables_never_repeat_a_header(report):
    dom = parse((report / REPORT_FILE).read_text())
    assert dom.header_rows
    for headers in dom.header_rows:
        assert len(headers) == len(set(headers)), headers


def _card(html: str, kpi_id: str) -> str:
    """One KPI's card, character references resolved."""
    start = html.index(f'<section class="card" id="{kpi_id}">')
    return unescape(html[start:html.index("</section>", start)])


def test_inputs_are_not_judged_and_the_traps_are_explained(report):
    html = (report / REPORT_FILE).read_text()
    for kpi_id in ("us_assistance_obligations", "us_assistance_disbursements"):
        card = _card(html, kpi_id)
        assert 'class="status improving"' not in card and 'class="status worsening"' not in card
        assert "input: not judged" in card and "neither improving nor worsening" in card
    obligations = _card(html, "us_assistance_obligations")
    nicaragua = re.search(r'<tr data-country="NIC">(.*?)</tr>', obligations).group(1)
    assert "%" not in nicaragua  # the baseline is negative: no percentage change
    assert "Nicaragua's baseline (FY2010: −US$14.5M) is not positive" in obligations
    primary = _card(html, "primary_completion_rate")
    assert "Values above 100 (Mexico" in primary and "gross ratio" in primary
    assert "No values in this release for Guatemala, Mexico, Nicaragua and El Salvador. Honduras is shown alone." \
        in _card(html, "lower_secondary_completion_rate")
    assert "Modelled estimates (ILO)" in _card(html, "jobs_created")
    visas = _card(html, "visas_issued")
    assert 'data-view="per_100k"' in visas and "Absolute figures by year" in visas
    assert "<td>FY2023</td>" in visas and "89,475" in visas  # the absolute figure, whole
