"""Hostile publishers, round three (issue 24), against local stand-ins of the publishers:

1. a gzip bomb (2 GiB from 2 MB on the wire)   -> refused at the source's body limit, in bounded memory
2. an endless body without Content-Length      -> refused at the source's response limit, transfer stopped
   and the landing archive's disk budget        -> refused when the archive would pass it
3. a UNHCR page header under-reporting pages    -> the fetch reads past it and the answer is refused
4. seven publishers trickling at once          -> one fetch phase, bounded by its deadline, outside the lock
5. the writer lock lost mid-run (PostgreSQL)   -> noticed, and the run stops before its next write

Each refusal names the source, the URL, the limit and the setting that raises it, and leaves no more
than a small sample of the body in the archive. Peak memory and wall time are measured in a child
process (tests/hostile.py); the figures are in bench/hostile.py's output, the assertions here are
generous bounds.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import re
import threading
import time
from pathlib import Path

import pytest
from werkzeug import Request, Response

from orchestration.config import load_settings
from orchestration.core.errors import SourceFetchError, SourceFormatError
from orchestration.fetch.archive import list_landings
from orchestration.fetch.limits import SAMPLE_BYTES
from orchestration.load.fetch_phase import acquire_source, fetch_all
from orchestration.load.lock import current_holder, warehouse_writer
from orchestration.sources import discover, state_dept, unhcr
from orchestration.publish.publication import current_publication
from tests.conftest import SNAPSHOT_DIR, copy_of_built, run_job, warehouse_env
from tests.faults import LivePublishers, Status, Trickle, live_settings
from tests.hostile import MIB, EndlessBody, fetch_in_child, gzip_bomb
from tests.standins import standin_publishers

# the modules that read PAGE_SIZE and PAGING (the package's own `fetch` is the fetch function)
unhcr_fetch = importlib.import_module("orchestration.sources.unhcr.fetch")
unhcr_parse = importlib.import_module("orchestration.sources.unhcr.parse")

pytestmark = pytest.mark.integration

YEARS = (2000, 2025)
# generous bounds of a child fetch's peak memory: the interpreter, pandas and the sources' imports
# take about 100-150 MiB; a body held whole would add the limit (32-64 MiB) or, unbounded, gigabytes
PEAK_RSS_BOUND_MIB = 400


@pytest.fixture
def live(httpserver):
    publishers_ = LivePublishers(httpserver)
    yield publishers_
    publishers_.stop()


def _landing_files(landing_dir: Path, source: str) -> list[Path]:
    return [path for path in (landing_dir / source).rglob("*") if path.is_file()]


def _assert_only_a_sample_left(landing_dir: Path, source: str) -> Path:
    files = _landing_files(landing_dir, source)
    assert not [path for path in files if path.name.endswith(".partial")], files
    [sample] = [path for path in files if path.name.endswith(".over-limit-sample")]
    assert sample.stat().st_size <= SAMPLE_BYTES
    # besides the sample: the manifest and the (small) files fetched before the refused one
    assert sum(path.stat().st_size for path in files) < 2 * MIB, [(p.name, p.stat().st_size) for p in files]
    manifest = json.loads(next(path for path in files if path.name == "manifest.json").read_text())
    assert manifest["complete"] is False and "over the limit" in manifest["error"]
    return sample


# ------------------------------------------------------------------ 1. a gzip bomb


@pytest.fixture(scope="module")
def bomb() -> bytes:
    return gzip_bomb(2048 * MIB, prefix=b'[{"page": 1, "pages": 1, "per_page": 1000, "total": 27, "lastupdated": "2026-06-01"}, [')


def test_case1_a_gzip_bomb_is_refused_at_the_body_limit_in_bounded_memory(live, tmp_path, bomb):
    publisher = live.publishers["worldbank"]
    live.faults.add(publisher.target, Status(200, headers=(("Content-Encoding", "gzip"),), body=bomb,
                                             content_type="application/json"))
    env = live.env("worldbank", tmp_path)
    measured = fetch_in_child("worldbank", env)
    message = measured.result.get("error", "")
    assert message.startswith(f"[worldbank] {live.url_for(publisher.target)}"), measured.result
    limit = publisher.spec.limits.max_body_bytes
    assert f"refused a response over the limit: more than {limit:,} bytes after decompression" in message, message
    assert "KPI_FETCH_MAX_BODY_MB raises it" in message and measured.result["retryable"] is False
    assert measured.peak_rss_mib < PEAK_RSS_BOUND_MIB, measured
    sample = _assert_only_a_sample_left(tmp_path / "landing", "worldbank")
    assert str(sample) in message and sample.read_bytes().startswith(b'[{"page": 1')


def test_case1_a_setting_raises_the_limit_and_the_body_then_fails_on_its_content(live, tmp_path, monkeypatch):
    """The limit is the source's unless a setting raises it: with KPI_FETCH_MAX_BODY_MB above the
    expansion (48 MiB against the declared 32), the whole body is received and refused as what it
    is, not JSON, naming no limit."""
    publisher = live.publishers["worldbank"]
    assert publisher.spec.limits.max_body_bytes < 48 * MIB
    live.faults.add(publisher.target, Status(200, headers=(("Content-Encoding", "gzip"),), body=gzip_bomb(48 * MIB, prefix=b"[{"),
                                             content_type="application/json"))
    settings = live_settings(live, "worldbank", tmp_path, monkeypatch, KPI_FETCH_MAX_BODY_MB="64")
    with pytest.raises(SourceFormatError, match="not valid JSON"):
        acquire_source(publisher.spec, settings)


# ------------------------------------------------------------------ 2. an endless body; the disk budget


def test_case2_an_endless_body_is_refused_at_the_response_limit_and_the_transfer_stopped(httpserver, tmp_path):
    endless = EndlessBody()
    workbook = "/sd/FYs97-24_NIVDetailTable.xlsx"
    httpserver.expect_request(workbook).respond_with_handler(endless)
    base = httpserver.url_for("").rstrip("/")
    env = warehouse_env(tmp_path, KPI_SOURCE_MODE="live", KPI_STATE_DEPT_BASE_URL=base,
                        **{state_dept.NIV_WORKBOOK_URL_ENV: base + workbook, state_dept.TABLE_III_URLS_ENV: base + "/sd/none.pdf"})
    measured = fetch_in_child("state_dept", env)
    message = measured.result.get("error", "")
    limit = state_dept.SPEC.limits.max_response_bytes
    assert message.startswith(f"[state_dept] {base + workbook}"), measured.result
    assert f"refused a response over the limit: more than {limit:,} bytes received" in message, message
    assert "KPI_FETCH_MAX_RESPONSE_MB raises it" in message
    assert measured.peak_rss_mib < PEAK_RSS_BOUND_MIB, measured
    _assert_only_a_sample_left(tmp_path / "landing", "state_dept")
    time.sleep(0.5)  # the server notices the closed connection at its next write
    assert endless.sent < limit + 64 * MIB, endless.sent  # the transfer stopped near the limit, not at 8 GiB


def test_case2_the_landing_archive_disk_budget_refuses_a_fetch_that_would_pass_it(live, tmp_path, monkeypatch):
    settings = live_settings(live, "worldbank", tmp_path, monkeypatch, KPI_LANDING_ARCHIVE_MAX_MB="1")
    (tmp_path / "landing").mkdir(parents=True)
    (tmp_path / "landing" / "older-releases.bin").write_bytes(bytes(MIB - 20_000))  # the archive is nearly full
    with pytest.raises(SourceFetchError) as failure:
        acquire_source(live.publishers["worldbank"].spec, settings)
    message = str(failure.value)
    assert message.startswith("[worldbank] " + live.base), message
    assert "would pass its disk budget of 1.0 MiB (KPI_LANDING_ARCHIVE_MAX_MB)" in message, message
    sample = next((tmp_path / "landing" / "worldbank").rglob("*.over-limit-sample"))
    assert sample.stat().st_size <= SAMPLE_BYTES


# ------------------------------------------------------------------ 3. a UNHCR header that under-reports its pages

PAGE_SIZE = 100  # small pages, so that the bundled HND answer (514 stocks) spans six


class PagedUnhcr:
    """/population/v1/<endpoint>/ in pages of the requested ``limit``, items ordered by country of
    asylum (so every year is on every page); ``stated_pages`` is what the header claims (None: the truth)."""

    def __init__(self, stated_pages: int | None):
        landing = next((SNAPSHOT_DIR / "unhcr").iterdir())
        self.items = {endpoint: json.loads((landing / unhcr.page_file_name(endpoint, "HND", 1)).read_bytes())["items"]
                      for endpoint in unhcr.ENDPOINT_ORDER}
        self.items["population"].sort(key=lambda item: (item["coa_iso"], item["year"]))
        self.stated_pages = stated_pages
        self.requested: list[str] = []

    def __call__(self, request: Request) -> Response:
        endpoint = request.path.strip("/").rsplit("/", 1)[-1]
        page, limit = int(request.args["page"]), int(request.args["limit"])
        self.requested.append(f"{endpoint}:{page}")
        items = self.items[endpoint]
        pages = max(1, -(-len(items) // limit))
        stated = self.stated_pages if endpoint == "population" and self.stated_pages is not None else pages
        body = {"page": page, "maxPages": stated, "total": [], "items": items[(page - 1) * limit: page * limit]}
        return Response(json.dumps(body), content_type="application/json")


def _unhcr_fetch(httpserver, tmp_path, monkeypatch, api: PagedUnhcr):
    for endpoint in unhcr.ENDPOINT_ORDER:
        httpserver.expect_request(f"/population/v1/{endpoint}/").respond_with_handler(api)
    paging = dataclasses.replace(unhcr.PAGING, requested_page_size=PAGE_SIZE)
    for module in (unhcr_fetch, unhcr_parse):  # where the fetch and the parse read them
        monkeypatch.setattr(module, "PAGE_SIZE", PAGE_SIZE)
        monkeypatch.setattr(module, "PAGING", paging)
    settings = load_settings(warehouse_env(tmp_path, KPI_SOURCE_MODE="live", KPI_COUNTRIES="HND",
                                           KPI_UNHCR_BASE_URL=httpserver.url_for("/population/v1")))
    landings = acquire_source(unhcr.SPEC, settings)
    return unhcr.SPEC.parse(landings, settings)


@pytest.mark.parametrize("stated", [1, 3, 5])
def test_case3_a_page_header_under_reporting_its_pages_is_refused(httpserver, tmp_path, monkeypatch, stated):
    api = PagedUnhcr(stated_pages=stated)
    with pytest.raises(SourceFormatError) as failure:
        _unhcr_fetch(httpserver, tmp_path, monkeypatch, api)
    message = str(failure.value)
    assert f"population:{stated + 1}" in api.requested  # read past the header: its last page was full
    assert message.startswith(f"[unhcr] {httpserver.url_for('/population/v1/population/')}?"), message
    assert f"&page={stated + 1} (archived as " in message
    held = min(PAGE_SIZE, 514 - stated * PAGE_SIZE)  # the bundled HND answer has 514 stocks
    assert (f"page {stated + 1} holds {held} rows, but every page's header says there are {stated} page(s): "
            "the header under-reports the answer, which is refused") in message, message


def test_case3_an_honest_paged_answer_loads_whole_and_equals_the_bundled_release(httpserver, tmp_path, monkeypatch):
    api = PagedUnhcr(stated_pages=None)
    frames = _unhcr_fetch(httpserver, tmp_path, monkeypatch, api)
    assert [request for request in api.requested if request.startswith("population:")] == [f"population:{n}" for n in range(1, 7)]
    replay = unhcr.SPEC.parse(list_landings(SNAPSHOT_DIR, "unhcr"), load_settings(warehouse_env(tmp_path / "replay", KPI_COUNTRIES="HND")))
    columns = ["year", "origin_iso3", "asylum_iso3", "refugees", "asylum_seekers", "idps"]
    ordered = lambda frame: frame[columns].sort_values(columns).reset_index(drop=True)  # noqa: E731
    assert len(frames[unhcr.POPULATION]) == 514
    assert ordered(frames[unhcr.POPULATION]).equals(ordered(replay[unhcr.POPULATION]))


# ------------------------------------------------------------------ 4. seven publishers trickling at once


@pytest.fixture
def seven(httpserver):
    served = standin_publishers()
    assert set(served) == {spec.name for spec in discover()}
    live_ = LivePublishers(httpserver, served)
    for publisher in served.values():
        for path in publisher.files:  # a paged API's pages share one path: a queue per page
            live_.faults.add(publisher.served_path(path), *[Trickle(0.2)] * 4)
    live_.faults.add("/unodc/annex.html", *[Trickle(0.2)] * 4)
    yield live_
    live_.stop()


def _seven_env(live_: LivePublishers, root: Path, **overrides) -> dict[str, str]:
    env = {}
    for source in live_.publishers:
        env.update(live_.env(source, root))
    env.update(KPI_COUNTRIES="HND", KPI_HTTP_TIMEOUT_SECONDS="1", KPI_HTTP_REQUEST_DEADLINE_SECONDS="3",
               KPI_SOURCE_FETCH_DEADLINE_SECONDS="3", KPI_FETCH_PHASE_DEADLINE_SECONDS="4", **overrides)
    return env


def test_case4_seven_trickling_publishers_cost_one_fetch_phase_not_seven(seven, tmp_path, monkeypatch):
    env = _seven_env(seven, tmp_path)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = load_settings(env)
    started = time.monotonic()
    results = fetch_all(discover(), settings, log=lambda message: None)
    elapsed = time.monotonic() - started
    assert set(results) == {spec.name for spec in discover()}
    for source, result in results.items():
        assert result.fetch_id is None and result.error_kind == "fetch", result
        assert result.location.startswith(seven.base), result  # names the URL that trickled
        # each source had its own 3 s, all within the phase's 4 s: they were fetched at once (one
        # after another, the phase deadline would cut the later ones short)
        assert re.search(r"gave up after [0-9.]+ s: the (request|source fetch) deadline of 3 s passed", result.problem), result
    assert elapsed < 7 * 3, elapsed  # liveness: one after another they would take 7 x 3 s


def test_case4_a_run_fetches_outside_the_writer_lock(seven, tmp_path):
    """While the daily run's fetch phase waits on seven trickling publishers, nobody holds the
    warehouse: another writer takes it and gives it back without waiting."""
    env = _seven_env(seven, tmp_path)
    warehouse = tmp_path / "warehouse" / "kpi.duckdb"
    outcome = {}
    run = threading.Thread(target=lambda: outcome.setdefault("result", run_job(env, *YEARS, force=False, job="kpi_load")))
    run.start()
    try:
        assert seven.faults.request_seen.wait(60), "the run fetched nothing"
        time.sleep(0.5)
        assert run.is_alive()  # still fetching
        assert current_holder(warehouse) is None
        with warehouse_writer(warehouse, 0, what="another writer during the fetch phase"):
            pass  # taken at once (timeout 0): the fetching run does not hold it
    finally:
        run.join(120)
    result = outcome["result"]
    assert not result.success
    failures = [event for event in result.all_events if event.event_type_value == "STEP_FAILURE"]
    assert len(failures) == len(discover())
    assert all("deadline of" in (event.event_specific_data.error.message + str(event.event_specific_data.error.cause))
               for event in failures)
    phases = list((tmp_path / "landing" / ".fetch_phases").glob("*.json"))
    assert len(phases) == 1  # one phase for the run; the other steps read its record


def _tree_digest(root: Path) -> dict[str, str]:
    """Every file under ``root`` (links followed, as a BI tool reads them) -> its sha256."""
    import hashlib

    return {str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(root.rglob("*")) if path.is_file()}


def test_case4_a_full_build_against_seven_hostile_publishers_leaves_the_live_publication_byte_identical(
        seven, built_warehouse, tmp_path):
    """The full build job (load, dbt, publish) in live mode with every publisher trickling: every load
    fails at its deadline in one fetch phase, nothing downstream runs, and the live publication
    (its DuckDB file, Parquet, docs, report and record) is byte for byte what it was."""
    env = {**copy_of_built(built_warehouse, tmp_path), **_seven_env(seven, tmp_path), "KPI_COUNTRIES": "HND,GTM,SLV,NIC,MEX"}
    serving = Path(env["KPI_SERVING_DIR"])
    before = _tree_digest(serving)
    assert before and current_publication(serving) is not None
    result = run_job(env, *YEARS, job="kpi_full_build")
    assert not result.success
    failed = {event.step_key for event in result.all_events if event.event_type_value == "STEP_FAILURE"}
    assert failed == {f"load_{spec.name}" for spec in discover()}, failed
    assert _tree_digest(serving) == before


def test_case4_the_cli_fetches_before_it_locks_and_its_steps_do_not_fetch_again(seven, tmp_path, monkeypatch, capsys):
    """``make daily`` in live mode: the CLI runs the fetch phase before it takes the warehouse, hands
    it to the run as a tag, and the loading steps read its record instead of fetching again."""
    from orchestration import cli

    for name, value in {**_seven_env(seven, tmp_path), "DAGSTER_HOME": str(tmp_path / "dagster_home")}.items():
        monkeypatch.setenv(name, value)
    assert cli.main(["daily", "--window-years", "1"]) == 1
    output = capsys.readouterr().out
    assert f"fetching {len(discover())} source(s) at once" in output, output
    fetched_at = output.index("fetching 7 source(s) at once")
    assert output.index("FAILED after") > fetched_at  # the run (which takes the lock) came after the phase
    [phase] = (tmp_path / "landing" / ".fetch_phases").glob("cli-*.json")
    recorded = json.loads(phase.read_text())["results"]
    assert len(recorded) == len(discover()) and all(result["fetch_id"] is None for result in recorded)
    # every trickled path was asked once, by the phase: the steps raised its recorded errors
    assert max(seven.faults.calls.values()) == 1, dict(seven.faults.calls)
