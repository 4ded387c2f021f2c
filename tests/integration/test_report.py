"""The KPI report: written after each publication from the serving copy, rendered by headless Chromium.

Chromium (Debian's ``chromium`` package) is installed with apt-get when absent, so the test runs in
CI rather than skipping. The page carries a tiny inline probe that records what the browser laid
out on each chart; ``--dump-dom`` returns the DOM after it ran.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pytest

from orchestration.publish import SERVING_FILE, current_publication
from orchestration.report import REPORT_FILE, format_change, format_value

pytestmark = pytest.mark.integration


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
    return subprocess.run(
        [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
         f"--user-data-dir={profile}", *args],
        capture_output=True, text=True, timeout=120,
    )


class ChartParser(HTMLParser):
    def __init__(self):
        super().__init__()
        self.charts: list[dict] = []
        self.body: dict = {}
        self.external: list[str] = []
        self._in_footer = False
        self.footer_text = ""

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "svg" and "kpi-chart" in (attrs.get("class") or ""):
            self.charts.append(attrs)
        if tag == "body":
            self.body = attrs
        if tag == "footer":
            self._in_footer = True
        for name in ("src", "href"):
            if attrs.get(name, "").startswith(("http:", "https:", "//")):
                self.external.append(attrs[name])

    def handle_endtag(self, tag):
        if tag == "footer":
            self._in_footer = False

    def handle_data(self, data):
        if self._in_footer:
            self.footer_text += data


@pytest.fixture(scope="module")
def report(built_warehouse):
    root, _, _ = built_warehouse
    return root / "serving"


def test_every_chart_renders_in_headless_chromium(report, tmp_path):
    binary = ensure_chromium()
    page = (report / REPORT_FILE).resolve()
    result = chromium(binary, tmp_path / "profile", "--dump-dom", page.as_uri())
    assert result.returncode == 0, result.stderr[-3000:]
    parser = ChartParser()
    parser.feed(result.stdout)
    with duckdb.connect(str(report / SERVING_FILE), read_only=True) as conn:
        kpis = {r[0] for r in conn.execute("select kpi_id from marts.dim_kpi").fetchall()}
        with_data = {r[0] for r in conn.execute("select distinct kpi_id from marts.kpi_annual where value is not null").fetchall()}
    assert {c["data-kpi"] for c in parser.charts} == kpis
    assert parser.body.get("data-charts-probed") == str(len(kpis)), "the browser did not run the page to its end"
    for chart in parser.charts:
        if chart["data-kpi"] in with_data:
            # laid out by the browser: marks drawn, with a real extent
            assert int(chart["data-points"]) > 0, chart["data-kpi"]
            assert int(chart["data-rendered-marks"]) > int(chart["data-points"]) // 2, chart
            assert int(chart["data-rendered-width"]) > 50, chart
    assert parser.external == []  # renders offline: nothing fetched from a network
    assert "<script src" not in (report / REPORT_FILE).read_text()

    shot = tmp_path / "kpi_report.png"
    result = chromium(binary, tmp_path / "profile2", "--hide-scrollbars", f"--screenshot={shot}", "--window-size=1400,2400",
                      page.as_uri())
    assert result.returncode == 0 and shot.stat().st_size > 50_000, result.stderr[-3000:]


def test_report_describes_the_current_publication(report):
    record = current_publication(report)
    html = (report / REPORT_FILE).read_text()
    parser = ChartParser()
    parser.feed(html)
    assert record["publication_id"] in parser.footer_text
    for source, vintages in record["source_vintages"].items():
        assert source in parser.footer_text and str(vintages["newest"]) in parser.footer_text
    # the latest value and the change from the baseline, as the scorecard has them
    with duckdb.connect(str(report / SERVING_FILE), read_only=True) as conn:
        latest_year, latest, baseline_year, change, change_pct, status = conn.execute(
            "select latest_year, latest_value, baseline_year, change, change_pct, status from marts.kpi_scorecard "
            "where country_iso3 = 'HND' and kpi_id = 'homicide_rate'").fetchone()
    assert (latest_year, round(latest, 2), status) == (2023, 31.44, "improving")
    unit = "per 100000 people"
    assert f"HND {latest_year}: <b>{format_value(latest, unit)}</b> · {format_change(change, change_pct, unit)} since {baseline_year}" in html
    assert (report / "releases" / record["publication_id"] / REPORT_FILE).read_text() == html


def test_value_formatting():
    assert format_value(31.4412, "per 100000 people") == "31.4"
    assert format_value(89475.0, "visas") == "89,475"
    assert format_value(4_127_212.67, "persons") == "4.1M"
    assert format_value(123_456_789.0, "current US dollars") == "US$123M"
    assert format_value(None, "visas") == "–"
    assert format_change(-7.2251, -16.5, "percent of relevant age group") == "−7.2 pp"
    assert format_change(55178.0, 160.88, "visas") == "+55,178 (+160.9%)"
    assert format_change(None, None, "visas") == "–"
