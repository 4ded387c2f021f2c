"""Crash tests: the real job (``python -m orchestration.cli run``) in a subprocess, killed with SIGKILL
(its whole process group, dbt included) during a download, a raw load, dbt and publishing.

After every kill: the warehouse opens read-write, its raw tables hold exactly what they held
before (no half-visible load), the serving copy is the last good publication (publication.json
and marts.publication unchanged, every mart with the row count the publication records), and no
interrupted landing is listed for loading. At the end one more run, on everything the kills left
behind (stale .partial files, an incomplete landing, a WAL), completes without manual repair.

Each stage is hit by polling for evidence the process leaves, not by test hooks in the code: a
request reaching the publisher's server (download), a DuckDB WAL beside the warehouse while no
dbt process exists yet (raw load), a dbt child process holding the warehouse open (dbt), a
release directory being written (publishing). The tests run in file order and share one warehouse.
The last one kills a daily run that loaded a new release, during dbt: the next daily run publishes it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest
from werkzeug import Response

from orchestration.sources import discover
from orchestration.fetch.archive import MANIFEST_NAME, list_landings
from orchestration.load.warehouse import LEDGER_TABLE
from tests.conftest import REPO_ROOT, warehouse_env
from tests.faults import kill_group

# in file order on one worker (tests/conftest.py SERIAL_MODULES): the tests share one warehouse
pytestmark = pytest.mark.integration

SOURCES = tuple(spec.name for spec in discover())
STAGE_TIMEOUT = 400  # seconds to wait for a stage's evidence before giving up (a loaded CI machine)
KILLED: list[str] = []


def _env(root: Path, **overrides: str) -> dict[str, str]:
    env = {**os.environ, **warehouse_env(root), "DAGSTER_HOME": str(root / "dagster_home"), "KPI_LOG_DIR": str(root / "logs"),
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DAGSTER_DISABLE_TELEMETRY": "true"}
    env.update(overrides)
    return env


def _start(root: Path, env: dict[str, str], name: str, command: str = "run") -> subprocess.Popen:
    out = open(root / f"{name}.out", "wb")
    return subprocess.Popen([sys.executable, "-m", "orchestration.cli", command], cwd=REPO_ROOT, env=env,
                            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def _run_to_end(root: Path, env: dict[str, str], name: str, command: str = "run") -> None:
    process = _start(root, env, name, command)
    code = process.wait(timeout=1200)
    assert code == 0, (root / f"{name}.out").read_text()[-3000:]


def _group_members(group: int) -> set[int]:
    """The live processes of process group ``group`` (zombies are dead), from every /proc/<pid>/stat: unlike
    the children of the group's leader, this does not depend on who has reaped whom."""
    members = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path("/proc", entry, "stat").read_text()
        except OSError:
            continue
        state, _parent, process_group = stat[stat.rindex(")") + 2:].split()[:3]
        if int(process_group) == group and state not in ("Z", "X"):
            members.add(int(entry))
    return members


def _kill_when(process: subprocess.Popen, evidence, name: str) -> str:
    """Poll ``evidence()`` (every few ms) and SIGKILL the process group as soon as it holds; then no
    process of the group (the run and whatever it started: dbt, a docs subprocess) is left alive."""
    deadline = time.monotonic() + STAGE_TIMEOUT
    while time.monotonic() < deadline:
        found = evidence()
        if found:
            group = _group_members(process.pid)
            kill_group(process)
            KILLED.append(f"{name}: {found} (process group of {len(group)})")
            assert process.pid in group  # the check saw the group it is about
            assert _group_members(process.pid) == set(), "a process of the killed run's group survived"
            return found
        if process.poll() is not None:
            pytest.fail(f"the run ended (exit {process.returncode}) before the {name} stage was seen")
        time.sleep(0.002)
    kill_group(process)
    pytest.fail(f"no evidence of the {name} stage within {STAGE_TIMEOUT} s")


def _raw_state(warehouse: Path) -> dict:
    """Per raw table: row count and a checksum of every value but the load bookkeeping. Opening
    read-write is part of the check (DuckDB replays a WAL left by a kill)."""
    state = {}
    with duckdb.connect(str(warehouse)) as conn:
        tables = [t for (t,) in conn.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'raw' ORDER BY 1").fetchall()]
        for table in tables:
            columns = [c for (c,) in conn.execute(
                "SELECT column_name FROM duckdb_columns() WHERE schema_name = 'raw' AND table_name = ?", [table]).fetchall()]
            if table == LEDGER_TABLE or "load_id" not in columns:
                continue  # bookkeeping (the load ledger: a load that committed before the kill is recorded), not data
            state[table] = conn.execute(
                f'SELECT count(*), sum(hash(COLUMNS(* EXCLUDE (load_id, loaded_at)))) FROM raw."{table}"').fetchall()
    return state


def _serving_state(serving: Path) -> dict:
    record = json.loads((serving / "publication.json").read_text())
    with duckdb.connect(str(serving / "kpi.duckdb"), read_only=True) as conn:
        published_id = conn.execute("SELECT publication_id FROM marts.publication").fetchone()[0]
        counts = {table: conn.execute(f'SELECT count(*) FROM marts."{table}"').fetchone()[0] for table in record["row_counts"]}
    return {"record": record, "published_id": published_id, "counts": counts}


@pytest.fixture(scope="module")
def last_good(tmp_path_factory):
    """One complete run: the last good publication every kill must leave in place."""
    root = tmp_path_factory.mktemp("crash")
    env = _env(root)
    _run_to_end(root, env, "last_good")
    serving = _serving_state(root / "serving")
    assert serving["published_id"] == serving["record"]["publication_id"]
    assert serving["counts"] == serving["record"]["row_counts"]
    return root, env, _raw_state(root / "warehouse" / "kpi.duckdb"), serving


def _assert_nothing_changed(last_good) -> None:
    root, _, raw_before, serving_before = last_good
    assert _raw_state(root / "warehouse" / "kpi.duckdb") == raw_before
    assert _serving_state(root / "serving") == serving_before
    for source in SOURCES:
        for landing in list_landings(root / "landing", source):
            assert json.loads((landing.path / MANIFEST_NAME).read_text())["complete"] is True


def test_kill_during_download(last_good, httpserver):
    root, env, _, _ = last_good
    requested, release = threading.Event(), threading.Event()

    def stalls(request):
        requested.set()
        release.wait(60)  # the publisher sends nothing until the client is dead
        return Response("gone", status=503)

    httpserver.expect_request(re.compile(".*")).respond_with_handler(stalls)
    base = httpserver.url_for("").rstrip("/")
    # every URL every source reads points at the stalling publisher: the fetch phase fetches all
    # sources at once, and none may fail fast against a host this machine cannot reach
    urls = {setting.env: f"{base}/{spec.name}/{setting.env.lower()}.xlsx" for spec in discover() for setting in spec.settings
            if setting.kind in ("url", "url_list")}
    live = _env(root, KPI_SOURCE_MODE="live", **urls)
    process = _start(root, live, "download")
    try:
        _kill_when(process, lambda: requested.is_set() and "a request reached the publisher", "download")
    finally:
        release.set()
    fetch_dirs = [d for source in SOURCES if (root / "landing" / source).is_dir() for d in (root / "landing" / source).iterdir()]
    # the fetch phase fetches every source at once: each fetch the kill interrupted is archived...
    assert fetch_dirs
    assert not [d for d in fetch_dirs if (d / MANIFEST_NAME).exists()]  # ...with no manifest: never loaded
    assert not [source for source in SOURCES if list_landings(root / "landing", source)]
    _assert_nothing_changed(last_good)


def _dbt_steps_since(started: float, root: Path) -> list[Path]:
    """The dbt steps' target directories a run in ``root`` started at ``started`` has created (dbt
    runs in-process). A step's directory ends with its run's id; the runs of ``root`` are those of
    its Dagster instance (other runs, e.g. another test worker's, share dbt_project/target)."""
    runs = {path.name[:8] for path in (root / "dagster_home" / "history" / "runs").glob("*.db")}
    return [step for step in (REPO_ROOT / "dbt_project" / "target").glob("step-kpi_dbt_*")
            if step.name.rsplit("-", 1)[-1] in runs and step.stat().st_mtime >= started]


def test_kill_during_raw_load(last_good):
    root, env, _, _ = last_good
    wal = root / "warehouse" / "kpi.duckdb.wal"
    started = time.time()
    process = _start(root, env, "raw_load")

    def loading():
        if wal.exists() and not _dbt_steps_since(started, root):
            return f"WAL {wal.name} present, {wal.stat().st_size if wal.exists() else 0} bytes, dbt not started yet"
        return None

    _kill_when(process, loading, "raw load")
    _assert_nothing_changed(last_good)


def test_kill_during_dbt(last_good):
    root, env, _, _ = last_good
    started = time.time()
    process = _start(root, env, "dbt")

    def building():
        # dbt runs in the run's own process and writes each node's executed SQL under the step's
        # target directory as it goes: a dozen of them means well into the build, some models
        # replaced and others not
        executed = [sql for step in _dbt_steps_since(started, root) for sql in (step / "run").rglob("*.sql")]
        return f"dbt in-process, {len(executed)} nodes executed" if len(executed) >= 12 else None

    _kill_when(process, building, "dbt")  # and every process of its group is gone
    _assert_nothing_changed(last_good)


def _unfinished_releases(serving: Path) -> list[Path]:
    """Release directories being written: a candidate's data is there, its record not yet."""
    return [release for release in (serving / "releases").iterdir()
            if (release / "kpi.duckdb").exists() and not (release / "publication.json").exists()]


def test_kill_during_publishing(last_good):
    root, env, _, _ = last_good
    serving = root / "serving"
    process = _start(root, env, "publishing")

    def publishing():
        unfinished = _unfinished_releases(serving)
        return f"release {unfinished[0].name} being written" if unfinished else None

    _kill_when(process, publishing, "publishing")
    _assert_nothing_changed(last_good)


def test_next_run_completes_without_repair(last_good):
    root, env, _, serving_before = last_good
    left = _unfinished_releases(root / "serving")
    assert left, "the publishing kill left no unfinished release"
    _run_to_end(root, env, "after_crashes")
    after = _serving_state(root / "serving")
    assert after["published_id"] != serving_before["published_id"]
    assert after["counts"] == after["record"]["row_counts"]
    assert after["counts"] == serving_before["counts"]  # same snapshot, same marts
    assert not any(release.exists() for release in left)  # removed by the next publish
    print("\n".join(KILLED))


def test_a_daily_run_killed_after_loading_a_new_release_is_completed_by_the_next(last_good):
    """The stranded release of the issue: the ledger said "loaded", the publication did not have it,
    and the next daily run used to skip everything. Now what is skipped is decided against the
    live publication."""
    from tests.releases import new_homicide_release

    root, env, _, _ = last_good
    snapshot = root / "snapshot_with_a_new_release"
    for source_dir in Path(env["KPI_SNAPSHOT_DIR"]).iterdir():
        if source_dir.is_dir():
            (snapshot / source_dir.name).mkdir(parents=True)
            for landing in source_dir.iterdir():
                (snapshot / source_dir.name / landing.name).symlink_to(landing, target_is_directory=True)
    new_homicide_release(snapshot)
    daily_env = {**env, "KPI_SNAPSHOT_DIR": str(snapshot)}
    published_before = _serving_state(root / "serving")["published_id"]
    started = time.time()
    process = _start(root, daily_env, "daily_killed", "daily")

    def building():
        executed = [sql for step in _dbt_steps_since(started, root) for sql in (step / "run").rglob("*.sql")]
        return f"daily run in dbt, {len(executed)} nodes executed" if len(executed) >= 12 else None

    _kill_when(process, building, "dbt of a daily run")
    assert _serving_state(root / "serving")["published_id"] == published_before
    _run_to_end(root, daily_env, "daily_after", "daily")
    output = (root / "daily_after.out").read_text()
    assert "reloaded or pending publication, marts rebuilt and published" in output, output[-2000:]
    with duckdb.connect(str(root / "serving" / "kpi.duckdb"), read_only=True) as conn:
        vintages = conn.execute("SELECT DISTINCT source_vintage FROM marts.kpi_annual WHERE kpi_id = 'homicide_rate'").fetchall()
    assert vintages == [("2026-06-30",)]


def test_the_group_check_sees_a_survivor():
    """What _kill_when's last assert catches: a group member that outlives its killed leader (as it would
    if kill_group signalled the leader only)."""
    leader = subprocess.Popen(["sh", "-c", "sleep 60 & wait"], start_new_session=True)
    try:
        deadline = time.monotonic() + 10
        while len(_group_members(leader.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(leader.pid, 9)
        leader.wait(timeout=10)
        assert _group_members(leader.pid) != set()  # the sleep lives on, in the leader's group
    finally:
        kill_group(leader)
    assert _group_members(leader.pid) == set()
