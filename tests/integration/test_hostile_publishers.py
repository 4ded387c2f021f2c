"""Hostile publishers, round two (issue 18): each numbered case of the issue, tried against local
stand-ins of the publishers (pytest-httpserver, behind the fault proxy of tests/faults.py where a
connection must be slowed or broken), with the outcome and the message a user reads.

1. repeated, short or foreign World Bank pages      -> the landing fails, naming URL, page and problem
2. implausible head counts (x1000)                  -> the plausibility suite fails, nothing is loaded
3. a trickling publisher                            -> the fetch fails at its deadline, naming URL and time
4. a redirect to another host                       -> refused before any request to that host
5. permanent errors (HTML, empty, truncated, ...)   -> one attempt, in the transport and in Dagster
6. a file without Last-Modified                     -> dated by its content, not by the fetch time
7. landings of identical re-fetches                 -> pruned by the retention policy, releases kept
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time

import dagster as dg
import duckdb
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from orchestration.config import load_settings
from orchestration.core.errors import SourceFetchError, SourceFormatError
from orchestration.sources import foreign_assistance, worldbank
from orchestration.fetch.archive import REFETCH_LOG_NAME, list_landings, sha256_bytes
from tests.conftest import SNAPSHOT_DIR, run_job, warehouse_env
from tests.faults import HTML_CHALLENGE, Body, LivePublishers, Status, Trickle, fetch, live_settings

pytestmark = pytest.mark.integration

PAGE_SIZE = 10
WB_KEY = dg.AssetKey(["raw", "worldbank_indicator_values"])
YEARS = (2000, 2025)


@pytest.fixture
def live(httpserver):
    publishers = LivePublishers(httpserver)
    yield publishers
    publishers.stop()


# ------------------------------------------------------------------ a paged World Bank API


@pytest.fixture(scope="module")
def hnd_series() -> dict[str, tuple[dict, list]]:
    """indicator -> (header, rows) of the bundled HND release (vintage 2026-04-08, 26 years each)."""
    landing = next(l for l in list_landings(SNAPSHOT_DIR, worldbank.SOURCE) if "API_HND_DS2_es" in l.fetch_id)
    series = {}
    for landed in landing.files:
        header, rows = worldbank.parse_page(landed.read_bytes(), landed.url)
        series[rows[0]["indicator"]["id"]] = (header, rows)
    return series


class PagedWorldBank:
    """/v2/country/HND/indicator/<id> in pages of PAGE_SIZE rows, as the API pages them; ``tamper``
    (indicator, page, header, rows) -> (header, rows) is how a hostile publisher changes a page."""

    def __init__(self, series):
        self.series = series
        self.tamper = None
        self.calls: list[str] = []

    def page(self, indicator: str, page: int) -> tuple[dict, list]:
        header, rows = self.series[indicator]
        pages = max(1, -(-len(rows) // PAGE_SIZE))
        return ({**header, "page": page, "pages": pages, "per_page": PAGE_SIZE, "total": len(rows)},
                rows[(page - 1) * PAGE_SIZE: page * PAGE_SIZE])

    def __call__(self, request: Request) -> Response:
        indicator = request.path.rsplit("/", 1)[-1]
        page = int(request.args.get("page", "1"))
        self.calls.append(f"{indicator}:{page}")
        header, rows = self.page(indicator, page)
        if self.tamper:
            header, rows = self.tamper(self, indicator, page, header, rows)
        return Response(json.dumps([header, rows]), content_type="application/json;charset=utf-8")


@pytest.fixture
def api(httpserver, hnd_series):
    fake = PagedWorldBank(hnd_series)
    httpserver.expect_request(re.compile(r"^/v2/country/HND/indicator/.+")).respond_with_handler(fake)
    return fake


def _wb_env(tmp_path, httpserver, **overrides) -> dict[str, str]:
    return warehouse_env(tmp_path, KPI_SOURCE_MODE="live", KPI_COUNTRIES="HND",
                         KPI_WORLDBANK_BASE_URL=httpserver.url_for("/v2"), **overrides)


def _fetch_and_parse_worldbank(env):
    settings = load_settings(env)
    landings = fetch(worldbank.SPEC, settings)
    return worldbank.SPEC.parse(landings, settings)["worldbank_indicator_values"]


def _failure_message(result) -> str:
    failure = next(event for event in result.all_events if event.event_type_value == "STEP_FAILURE")
    error = failure.event_specific_data.error
    return f"{error.message} {error.cause.message if error.cause else ''}"


def _step_retries(result) -> int:
    return sum(event.event_type_value == "STEP_UP_FOR_RETRY" for event in result.all_events)


def _raw_worldbank(warehouse) -> list[tuple]:
    if not warehouse.exists():
        return []
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        tables = {t for (t,) in conn.execute("select table_name from duckdb_tables() where schema_name = 'raw'").fetchall()}
        if "worldbank_indicator_values" not in tables:
            return []
        return conn.execute("select indicator_id, cast(vintage as varchar), count(*) from raw.worldbank_indicator_values "
                            "group by all order by all").fetchall()


# ------------------------------------------------------------------ 1. repeated, short or foreign pages


def _repeat_page_1(api, indicator, page, header, rows):
    return header, api.page(indicator, 1)[1]


def _short_page(api, indicator, page, header, rows):
    return header, rows[:-1] if page == 2 else rows


def _another_country(api, indicator, page, header, rows):
    if page == 2:
        rows = [dict(rows[0], countryiso3code="GTM", country={"id": "GT", "value": "Guatemala"}), *rows[1:]]
    return header, rows


def _another_indicator(api, indicator, page, header, rows):
    return api.page("SP.POP.TOTL", page) if indicator == "SL.TLF.TOTL.IN" else (header, rows)


def _row_also_on_another_page(api, indicator, page, header, rows):
    return header, [api.page(indicator, 1)[1][0], *rows[1:]] if page == 2 else rows


def _pages_disagree(api, indicator, page, header, rows):
    return ({**header, "total": header["total"] + 1} if page == 2 else header), rows


def _year_not_requested(api, indicator, page, header, rows):
    return header, [dict(rows[0], date="1990"), *rows[1:]] if page == 2 else rows


ANSWERS = {
    "every-page-repeats-page-1": (_repeat_page_1, "page 2 repeats the rows of page 1"),
    "short-page": (_short_page, "page 2 of 3 holds 9 rows, but with per_page 10 and total 27 it should hold 10"),
    "row-for-another-country": (_another_country, r"page 2: a row for SL.TLF.TOTL.IN GTM 2015, but only HND were requested"),
    "body-for-another-indicator": (_another_indicator, "page 1: a row for SP.POP.TOTL HND 2025, but SL.TLF.TOTL.IN was requested"),
    "row-also-on-another-page": (_row_also_on_another_page, "page 2: the row for HND 2025 is also on page 1"),
    "pages-disagree-on-the-total": (_pages_disagree, "page 2 says total 28, page 1 said 27"),
    "year-not-requested": (_year_not_requested, r"page 2: a row for SL.TLF.TOTL.IN HND 1990, outside the requested years 1999-"),
}


@pytest.mark.parametrize("answer", list(ANSWERS))
def test_case1_incomplete_or_foreign_answer_fails_naming_url_and_page(tmp_path, httpserver, api, answer):
    tamper, problem = ANSWERS[answer]
    api.tamper = lambda api_, indicator, page, header, rows: (
        tamper(api_, indicator, page, header, rows) if indicator == "SL.TLF.TOTL.IN" else (header, rows))
    with pytest.raises(SourceFormatError) as failure:
        _fetch_and_parse_worldbank(_wb_env(tmp_path, httpserver))
    message = str(failure.value)
    assert message.startswith(f"[worldbank] {httpserver.url_for('/v2/country/HND/indicator/SL.TLF.TOTL.IN')}?"), message
    assert re.search(problem, message), message
    page = re.search(r"page (\d)", problem).group(1)
    assert f"&page={page} (archived as " in message  # the URL of the page at fault


def test_case1_repeated_pages_are_not_loaded_by_the_daily_run(tmp_path, httpserver, api):
    api.tamper = _repeat_page_1
    env = _wb_env(tmp_path, httpserver)
    result = run_job(env, *YEARS, job="kpi_load", asset_selection=[WB_KEY])
    assert not result.success
    message = _failure_message(result)
    assert "[worldbank] http://" in message and "page 2 repeats the rows of page 1" in message, message
    assert _raw_worldbank(tmp_path / "warehouse" / "kpi.duckdb") == []
    assert _step_retries(result) == 0  # bad bytes stay bad


# ------------------------------------------------------------------ 2. implausible head counts


def _scaled(factor: float, lastupdated: str, indicators=("SL.TLF.TOTL.IN", "SP.POP.TOTL")):
    def tamper(api, indicator, page, header, rows):
        header = {**header, "lastupdated": lastupdated}
        if indicator in indicators:
            rows = [dict(row, value=None if row["value"] is None else row["value"] * factor) for row in rows]
        return header, rows
    return tamper


def test_case2_a_release_x1000_is_not_loaded_and_the_good_one_stays_newest(tmp_path, httpserver, api):
    env = _wb_env(tmp_path, httpserver)
    warehouse = tmp_path / "warehouse" / "kpi.duckdb"
    first = run_job(env, *YEARS, job="kpi_load", asset_selection=[WB_KEY])
    assert first.success, _failure_message(first)
    loaded = _raw_worldbank(warehouse)
    assert {vintage for _, vintage, _ in loaded} == {"2026-04-08"}

    api.tamper = _scaled(1000, "2026-06-01")  # labour force and population x1000, a newer date
    second = run_job(env, *YEARS, job="kpi_load", asset_selection=[WB_KEY])
    assert not second.success
    message = _failure_message(second)
    assert "plausibility_check" in message, message
    # from the input year 1999; no 2025 population yet
    for series, years in (("HND SL.TLF.TOTL.IN", "1999-2025"), ("HND SP.POP.TOTL", "1999-2024")):
        assert (f"'series': '{series}', 'vintage': '2026-06-01', 'compared_with': '2026-04-08', "
                f"'implausible_years': '{years}'") in message, message
    assert "'example': '2025: 4,340,779,000 against 4,340,779 (x1000)'" in message, message
    failed = {check.check_name for check in second.get_asset_check_evaluations() if not check.passed}
    assert "gx_plausibility_check" in failed
    assert _raw_worldbank(warehouse) == loaded  # nothing of the bad release; 2026-04-08 stays newest
    assert _step_retries(second) == 0


def test_case2_a_revision_beyond_the_factor_that_no_suite_bounds_is_caught(tmp_path, httpserver, api):
    """x10 stays under the suite's absolute bound (2 billion people): only the comparison with the
    previous release can see it."""
    env = _wb_env(tmp_path, httpserver)
    assert run_job(env, *YEARS, job="kpi_load", asset_selection=[WB_KEY]).success
    api.tamper = _scaled(10, "2026-06-01", indicators=("SL.TLF.TOTL.IN",))
    result = run_job(env, *YEARS, job="kpi_load", asset_selection=[WB_KEY])
    assert not result.success
    message = _failure_message(result)
    failed = {check.check_name for check in result.get_asset_check_evaluations() if not check.passed}
    assert failed == {"gx_plausibility_check"}, message
    assert "'series': 'HND SL.TLF.TOTL.IN'" in message and "(x10)" in message, message
    assert "HND SP.POP.TOTL" not in message


# ------------------------------------------------------------------ 3. a trickling publisher


@pytest.mark.parametrize("trickle", [Trickle(0.2), Trickle(0.2, headers_too=True)], ids=["body", "headers-and-body"])
def test_case3_a_trickling_publisher_fails_at_the_request_deadline(live, tmp_path, monkeypatch, trickle):
    publisher = live.publishers["worldbank"]
    live.faults.add(publisher.target, trickle)
    settings = live_settings(live, "worldbank", tmp_path, monkeypatch, KPI_HTTP_TIMEOUT_SECONDS="1",
                             KPI_HTTP_REQUEST_DEADLINE_SECONDS="2", KPI_SOURCE_FETCH_DEADLINE_SECONDS="60")
    started = time.monotonic()
    with pytest.raises(SourceFetchError) as failure:
        fetch(publisher.spec, settings)
    elapsed = time.monotonic() - started
    message = str(failure.value)
    assert message.startswith(f"[worldbank] {live.url_for(publisher.target)}"), message
    took = float(re.search(r"gave up after ([0-9.]+) s: the request deadline of 2 s passed", message).group(1))
    assert 2.0 <= took < 2.0 + 1.0, message  # at the deadline (a whole body would take ~20 minutes)
    assert elapsed < 20, elapsed  # liveness: the fetch ended, it did not wait for the body
    assert failure.value.retryable is False
    assert live.faults.calls[publisher.target] == 1  # a spent deadline is not retried


def test_case3_the_source_fetch_deadline_bounds_a_whole_fetch(live, tmp_path, monkeypatch):
    publisher = live.publishers["worldbank"]
    live.faults.add(publisher.target, Trickle(0.2))
    settings = live_settings(live, "worldbank", tmp_path, monkeypatch, KPI_HTTP_TIMEOUT_SECONDS="1",
                             KPI_HTTP_REQUEST_DEADLINE_SECONDS="3", KPI_SOURCE_FETCH_DEADLINE_SECONDS="3")
    with pytest.raises(SourceFetchError, match=r"gave up after [0-9.]+ s: the source fetch deadline of 3 s passed"):
        fetch(publisher.spec, settings)


def test_case3_a_trickling_publisher_does_not_hold_the_daily_run(live, tmp_path, monkeypatch):
    """The schedule's job (kpi_load): the run fails at the deadline plus Dagster's own overhead, once
    (no step retry), so the one-writer pool is free for the next tick."""
    publisher = live.publishers["worldbank"]
    live.faults.add(publisher.target, Trickle(0.2))
    env = live.env("worldbank", tmp_path, KPI_HTTP_TIMEOUT_SECONDS="1", KPI_HTTP_REQUEST_DEADLINE_SECONDS="2",
                   KPI_SOURCE_FETCH_DEADLINE_SECONDS="4")
    started = time.monotonic()
    result = run_job(env, *YEARS, job="kpi_load", asset_selection=[WB_KEY])
    elapsed = time.monotonic() - started
    assert not result.success
    assert "the request deadline of 2 s passed" in _failure_message(result)
    assert _step_retries(result) == 0 and live.faults.calls[publisher.target] == 1
    assert elapsed < 60, elapsed  # liveness bound, generous for Dagster's start-up on a busy machine


# ------------------------------------------------------------------ 4. redirects


@pytest.fixture
def other_host():
    server = HTTPServer(host="127.0.0.1", port=0)
    server.expect_request(re.compile(".*")).respond_with_data(b"[]", content_type="application/json")
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()


def test_case4_a_redirect_to_another_host_is_refused_before_any_request(live, tmp_path, monkeypatch, other_host):
    publisher = live.publishers["worldbank"]
    elsewhere = other_host.url_for("/v2/country/HND/indicator/SE.PRM.CMPT.ZS")
    live.faults.add(publisher.target, Status(302, headers=(("Location", elsewhere),), body=b""))
    settings = live_settings(live, "worldbank", tmp_path, monkeypatch)
    with pytest.raises(SourceFetchError) as failure:
        fetch(publisher.spec, settings)
    message = str(failure.value)
    assert message.startswith(f"[worldbank] {live.url_for(publisher.target)}"), message
    assert f"refusing the redirect from {live.url_for(publisher.target)}" in message and elsewhere in message
    assert "this source only fetches from '127.0.0.1:" in message
    assert other_host.log == []  # not one request reached the other host
    assert failure.value.retryable is False


def test_case4_a_redirect_on_the_allowed_host_is_followed_and_every_hop_recorded(live, tmp_path, monkeypatch):
    publisher = live.publishers["worldbank"]
    moved = publisher.target + "?moved=1"
    live.faults.add(publisher.target, Status(301, headers=(("Location", moved),), body=b""),
                    Status(307, headers=(("Location", live.url_for(publisher.target) + "?moved=2"),), body=b""))
    settings = live_settings(live, "worldbank", tmp_path, monkeypatch)
    [landing] = fetch(publisher.spec, settings)
    manifest = json.loads((landing.path / "manifest.json").read_text())
    [entry] = [e for e in manifest["entries"] if e["file"].startswith("SE.PRM.CMPT.ZS")]
    requested = entry["url"]
    assert entry["redirects"] == [
        {"url": requested, "status": 301, "location": live.url_for(moved)},
        {"url": live.url_for(moved), "status": 307, "location": live.url_for(publisher.target) + "?moved=2"},
    ]
    assert entry["final_url"] == live.url_for(publisher.target) + "?moved=2"
    others = [e for e in manifest["entries"] if e is not entry]
    assert all(e["redirects"] == [] and e["final_url"] == e["url"] for e in others)


# ------------------------------------------------------------------ 5. permanent errors: one attempt

WB_ERROR_BODY = json.dumps([{"message": [{"id": "120", "key": "Invalid value", "value": "The provided parameter value is not valid"}]}]).encode()
PERMANENT = {
    "html-page": (Body(HTML_CHALLENGE, "text/html"), "received an HTML page"),
    "empty-body": (Body(b""), "empty body"),
    "truncated-json": (Body(keep=0.5), "not valid JSON"),
    "error-body": (Body(WB_ERROR_BODY), "error body: id 120"),
    "404": (Status(404, body=b"not here"), "HTTP 404"),
}


@pytest.mark.parametrize("fault", list(PERMANENT))
def test_case5_a_permanent_error_is_tried_once_by_the_transport_and_by_dagster(live, tmp_path, fault):
    publisher = live.publishers["worldbank"]
    body_fault, problem = PERMANENT[fault]
    live.faults.add(publisher.target, body_fault)
    result = run_job(live.env("worldbank", tmp_path), *YEARS, job="kpi_load", asset_selection=[WB_KEY])
    assert not result.success
    message = _failure_message(result)
    assert f"[worldbank] {live.url_for(publisher.target)}" in message and problem in message, message
    assert live.faults.calls[publisher.target] == 1  # no transport retry, no second download
    assert _step_retries(result) == 0  # and no step retry 30 s later
    assert len(list((tmp_path / "landing" / "worldbank").iterdir())) == 1  # one landing, incomplete


def test_case5_a_missing_snapshot_directory_fails_at_once(tmp_path):
    # the code location was loaded while the snapshot existed (a bad setting at load time fails the
    # load itself, naming the variable); then the directory went away under it
    import orchestration.definitions  # noqa: F401

    env = warehouse_env(tmp_path, KPI_SNAPSHOT_DIR=str(tmp_path / "no-such-snapshot"))
    result = run_job(env, *YEARS, job="kpi_load", asset_selection=[WB_KEY])
    assert not result.success
    # a configuration error, caught by the settings before anything is read
    assert "configuration error: KPI_SNAPSHOT_DIR=" in _failure_message(result) and "is not a directory" in _failure_message(result)
    assert _step_retries(result) == 0


# ------------------------------------------------------------------ 6. vintage of an undated file


def _country_summary_bytes(prefix: str) -> bytes:
    landing = next(l for l in list_landings(SNAPSHOT_DIR, foreign_assistance.SOURCE) if l.fetch_id.startswith(prefix))
    return next(f for f in landing.files if f.file.startswith("us_foreign_aid_country")).read_bytes()


def test_case6_an_old_release_without_last_modified_keeps_its_own_date(live, tmp_path, monkeypatch):
    """The April 2025 Country Summary served today without a date: it is the April release (the
    archive knows those bytes), not a release of today that would become the newest."""
    publisher = live.publishers["foreign_assistance"]
    live.faults.add(publisher.target, Body(_country_summary_bytes("1-"), last_modified=None))
    settings = live_settings(live, "foreign_assistance", tmp_path, monkeypatch)
    [landing] = fetch(publisher.spec, settings)
    entry = next(f for f in landing.files if f.file.startswith("us_foreign_aid_country"))
    assert entry.last_modified is None and entry.fetched_at.startswith(dt.date.today().isoformat())
    summary = publisher.spec.parse([landing], settings)["foreign_assistance_country_summary"]
    assert set(summary["vintage"]) == {dt.date(2025, 4, 2)}


def test_case6_an_unknown_undated_release_keeps_the_date_it_was_first_received(live, tmp_path, monkeypatch):
    publisher = live.publishers["foreign_assistance"]
    body = _country_summary_bytes("2-").replace(b"\n", b"\r\n")  # bytes no archive has seen
    settings = live_settings(live, "foreign_assistance", tmp_path, monkeypatch)
    live.faults.add(publisher.target, Body(body, last_modified=None))
    [first] = fetch(publisher.spec, settings)
    manifest = json.loads((first.path / "manifest.json").read_text())  # as if fetched on 1 December 2025
    for entry in manifest["entries"]:
        entry["fetched_at"] = "2025-12-01T06:00:00+00:00"
    (first.path / "manifest.json").write_text(json.dumps(manifest))
    live.faults.add(publisher.target, Body(body, last_modified=None))
    [again] = fetch(publisher.spec, settings)  # today, same bytes, still no date
    summary = publisher.spec.parse([again], settings)["foreign_assistance_country_summary"]
    assert set(summary["vintage"]) == {dt.date(2025, 12, 1)}


# ------------------------------------------------------------------ 7. landing retention


def _landing_ids(settings) -> list[str]:
    return [landing.fetch_id for landing in list_landings(settings.landing_dir, "worldbank")]


def test_case7_identical_refetches_are_pruned_and_every_release_kept(live, tmp_path, monkeypatch):
    publisher = live.publishers["worldbank"]
    settings = live_settings(live, "worldbank", tmp_path, monkeypatch)
    first, second, third = (fetch(publisher.spec, settings)[0] for _ in range(3))
    assert _landing_ids(settings) == [first.fetch_id, third.fetch_id]  # the middle copy is gone
    [record] = [json.loads(line) for line in (settings.landing_dir / "worldbank" / REFETCH_LOG_NAME).read_text().splitlines()]
    assert record["fetch_id"] == second.fetch_id and record["same_release_as"] == first.fetch_id

    body, content_type = publisher.files[publisher.target]
    header, rows = json.loads(body)
    revised = json.dumps([{**header, "lastupdated": "2026-05-01"}, rows]).encode()
    live.faults.add(publisher.target, Body(revised))
    [fourth] = fetch(publisher.spec, settings)  # a new release: kept
    [fifth] = fetch(publisher.spec, settings)  # the old release again: its previous newest copy goes
    assert _landing_ids(settings) == [first.fetch_id, fourth.fetch_id, fifth.fetch_id]
    assert any(f.sha256 == sha256_bytes(revised) for f in fourth.files)
    # a failed fetch is not a release: it stays, as the record of what went wrong
    live.faults.add(publisher.target, Body(b""))
    with pytest.raises(SourceFormatError):
        fetch(publisher.spec, settings)
    fetches = sorted(path.name for path in (settings.landing_dir / "worldbank").iterdir() if path.is_dir())
    assert len(fetches) == 4 and fetches[:3] == [first.fetch_id, fourth.fetch_id, fifth.fetch_id]
