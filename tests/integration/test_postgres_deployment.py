"""The pipeline beyond one machine, on a real PostgreSQL 15 (tests/pg.py starts a throwaway cluster):

- the deployment of deploy/: Dagster's instance on PostgreSQL (deploy/dagster-postgres.yaml), the
  code server, the webserver and the daemon as three processes (deploy/services.sh); a full build
  launched through the webserver's API is queued, started by the daemon, run by the multiprocess
  executor with sources loading in parallel into the PostgreSQL warehouse (KPI_WAREHOUSE=postgres),
  built by dbt there and published; its kpi_annual equals the DuckDB build's, row for row;
- on that warehouse: a backfill, a daily run with a new release, writers excluded by the advisory
  lock, two loads at once with consistent load numbers, and BI readers (a read-only role) during
  publications, who see the old or the new marts, never a mix or an error.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest
import requests

from orchestration.config import load_settings
from orchestration.core.postgres import PostgresTarget
from orchestration.publish.publication import current_publication, publish
from orchestration.load.engines import warehouse_for
from orchestration.load.warehouse import DuckDBWarehouse, RawLoad, TransformAttempt, new_load_id
from orchestration.load.lock import PostgresAdvisoryLock, current_holder, warehouse_writer
from orchestration.load.postgres_warehouse import LEDGER_LOCK, PostgresWarehouse
from tests.conftest import REPO_ROOT, all_years, schedule_away_from_now, snapshot_of_links, warehouse_env
from tests.helpers_serving import environment
from tests.pg import free_port, running_cluster
from tests.publications import publication_differences
from tests.releases import worldbank_release

pytestmark = pytest.mark.integration

DAGSTER_DATABASE = "dagster"
SERVING_DATABASE = "kpi_serving"
READER_ROLE, READER_PASSWORD = "kpi_reader", "reader-secret"
KPI_ANNUAL_COLUMNS = ("country_iso3", "kpi_id", "year", "value", "unit", "yoy_change", "yoy_change_pct", "source_id",
                      "source_vintage", "value_per_100k")
DEADLINE_SECONDS = 600
NEWEST_HOMICIDES = "2026-02-24__wdi-bulk__API_VC.IHR.PSRC.P5_DS2_es_csv_v2_8348"


@pytest.fixture(scope="module")
def cluster():
    with running_cluster(DAGSTER_DATABASE, SERVING_DATABASE, "kpi_ledger") as cluster:
        conn = cluster.connect()
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f"CREATE ROLE {READER_ROLE} LOGIN PASSWORD '{READER_PASSWORD}'")
        conn.close()
        yield cluster


def deployment_env(cluster, root: Path) -> dict[str, str]:
    home = root / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text((REPO_ROOT / "deploy" / "dagster-postgres.yaml").read_text())
    return {
        **warehouse_env(root, KPI_SNAPSHOT_DIR=str(snapshot_of_links(root)), KPI_LOG_DIR=str(root / "logs"),
                        KPI_FAILURES_DIR=str(root / "failures")),
        **cluster.env(), "KPI_WAREHOUSE": "postgres",
        "KPI_PUBLISH_POSTGRES": "1", "KPI_PG_PUBLISH_DATABASE": SERVING_DATABASE, "KPI_PG_READER_ROLES": READER_ROLE,
        "DAGSTER_HOME": str(home), "DAGSTER_PG_HOST": "127.0.0.1", "DAGSTER_PG_PORT": str(cluster.port),
        "DAGSTER_PG_USER": cluster.env()["KPI_PG_USER"], "DAGSTER_PG_PASSWORD": cluster.password,
        "DAGSTER_PG_DB": DAGSTER_DATABASE,
        "KPI_CODE_SERVER_PORT": str(free_port()), "KPI_DAGSTER_PORT": str(free_port()),
        **schedule_away_from_now(),
    }


def process_env(env: dict[str, str]) -> dict[str, str]:
    """The environment of a process the test starts: this one's, without the settings other tests
    (and the dbt step, which sets dbt's variables) left in it, plus ``env``."""
    return {**{key: value for key, value in os.environ.items() if not key.startswith(("KPI_", "DAGSTER_"))}, **env}


def start_service(name: str, env: dict[str, str], log_dir: Path) -> subprocess.Popen:
    return subprocess.Popen(["bash", str(REPO_ROOT / "deploy" / "services.sh"), name], cwd=REPO_ROOT,
                            env=process_env(env), stdout=open(log_dir / f"{name}.log", "w"),
                            stderr=subprocess.STDOUT, start_new_session=True)


def stop_service(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wait_for_webserver(port: int, services: dict[str, subprocess.Popen], log_dir: Path) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        for name, process in services.items():
            assert process.poll() is None, f"{name} exited: {(log_dir / f'{name}.log').read_text()[-3000:]}"
        try:
            if requests.get(f"http://127.0.0.1:{port}/server_info", timeout=5).ok:
                return
        except requests.ConnectionError:
            pass
        time.sleep(1)
    raise AssertionError("the webserver did not answer within 180 s")


def launch_and_wait(env: dict[str, str], job: str, tags: dict[str, str], log_dir: Path) -> tuple[str, str]:
    from dagster_graphql import DagsterGraphQLClient

    client = DagsterGraphQLClient("127.0.0.1", port_number=int(env["KPI_DAGSTER_PORT"]))
    # the code server may still be loading the definitions when the webserver answers
    deadline = time.monotonic() + 180
    while True:
        try:
            run_id = client.submit_job_execution(job, repository_location_name="kpi_warehouse", tags=tags)
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(2)
    deadline = time.monotonic() + DEADLINE_SECONDS
    status = None
    while time.monotonic() < deadline:
        status = client.get_run_status(run_id).value
        if status in ("SUCCESS", "FAILURE", "CANCELED"):
            break
        time.sleep(2)
    return run_id, status


def pg_rows(cluster, database: str, sql: str, params=()) -> list[tuple]:
    conn = cluster.connect(database)
    try:
        with conn.cursor() as cur:
            cur.execute(sql, list(params))
            return cur.fetchall()
    finally:
        conn.close()


def kpi_annual_differences(expected: list[tuple], actual: list[tuple]) -> list:
    """Rows keyed by (country, KPI, year): the same keys, text equal, numbers to 1e-9 relative."""
    want, got = ({row[:3]: row for row in rows} for rows in (expected, actual))
    differences = [("missing", key) for key in want.keys() - got.keys()] + [("extra", key) for key in got.keys() - want.keys()]
    for key in want.keys() & got.keys():
        for name, a, b in zip(KPI_ANNUAL_COLUMNS, want[key], got[key]):
            if isinstance(a, float) or isinstance(b, float):
                same = (a is None and b is None) or (a is not None and b is not None
                                                     and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12))
            else:
                same = str(a) == str(b)
            if not same:
                differences.append((key, name, a, b))
    return differences


def duckdb_kpi_annual(serving_file: Path) -> list[tuple]:
    with duckdb.connect(str(serving_file), read_only=True) as conn:
        return conn.execute(f"select {', '.join(KPI_ANNUAL_COLUMNS)} from marts.kpi_annual").fetchall()


@pytest.fixture(scope="module")
def deployment(cluster, tmp_path_factory):
    """A full build through the deployment of deploy/ (three processes, the instance on PostgreSQL)."""
    root = tmp_path_factory.mktemp("deployment")
    env = deployment_env(cluster, root)
    log_dir = root / "service-logs"
    log_dir.mkdir()
    services = {"code-server": start_service("code-server", env, log_dir)}
    try:
        services["webserver"] = start_service("webserver", env, log_dir)
        services["daemon"] = start_service("daemon", env, log_dir)
        wait_for_webserver(int(env["KPI_DAGSTER_PORT"]), services, log_dir)
        first, last = all_years()
        run_id, status = launch_and_wait(env, "kpi_full_build", {"dagster/asset_partition_range_start": str(first),
                                                                   "dagster/asset_partition_range_end": str(last)}, log_dir)
    finally:
        for process in services.values():
            stop_service(process)
    logs = {name: (log_dir / f"{name}.log").read_text()[-4000:] for name in services}
    return root, env, run_id, status, logs


def instance_for(env: dict[str, str]):
    return dg.DagsterInstance.from_config(env["DAGSTER_HOME"])


def test_a_full_build_through_the_deployment_publishes_the_same_kpi_annual_as_duckdb(cluster, deployment, built_warehouse):
    root, env, run_id, status, logs = deployment
    assert status == "SUCCESS", logs
    with environment(env):
        instance = instance_for(env)
        run = instance.get_run_by_id(run_id)
        steps: dict[str, dict] = {}
        for record in instance.all_logs(run_id):
            event = record.dagster_event
            if event is not None and event.event_type_value in ("STEP_START", "STEP_SUCCESS"):
                steps.setdefault(event.step_key, {})[event.event_type_value] = record.timestamp
        instance.dispose()
    # queued by the webserver, started by the daemon: Dagster's storage is PostgreSQL's
    assert run.status == dg.DagsterRunStatus.SUCCESS and run.tags.get("dagster/asset_partition_range_start") == "2000"
    assert pg_rows(cluster, DAGSTER_DATABASE, "select count(*) from runs where run_id = %s", [run_id]) == [(1,)]
    # sources loaded in parallel: two loading steps ran at the same time
    loads = sorted((times["STEP_START"], times["STEP_SUCCESS"]) for key, times in steps.items() if key.startswith("load_"))
    assert len(loads) == 7
    assert any(later_start < earlier_end for (_, earlier_end), (later_start, _) in zip(loads, loads[1:])), loads
    # the ledger numbers every load once, without gaps
    ledger = pg_rows(cluster, "kpi_warehouse", "select load_seq, source, run_id from raw.load_ledger order by load_seq")
    assert [seq for seq, _, _ in ledger] == list(range(1, 8)) and {r for _, _, r in ledger} == {run_id}
    # the marts were built in PostgreSQL, published as files and to the serving database: all equal DuckDB's
    built_root, _, _ = built_warehouse
    expected = duckdb_kpi_annual(built_root / "first_publication" / "kpi.duckdb")
    assert len(expected) > 1000
    select = f"select {', '.join(KPI_ANNUAL_COLUMNS)} from marts.kpi_annual"
    assert kpi_annual_differences(expected, pg_rows(cluster, "kpi_warehouse", select)) == []
    assert kpi_annual_differences(expected, pg_rows(cluster, SERVING_DATABASE, select)) == []
    assert kpi_annual_differences(expected, duckdb_kpi_annual(Path(env["KPI_SERVING_DIR"]) / "kpi.duckdb")) == []
    record = current_publication(Path(env["KPI_SERVING_DIR"]))
    assert record["warehouse_load_seq"] == 7 and record["postgres"]["target"].endswith(f"/{SERVING_DATABASE}")
    assert cluster.password not in json.dumps(record)


def test_every_mart_built_by_postgres_equals_duckdbs(deployment, built_warehouse):
    """The shared models are portable: every mart the deployment built in PostgreSQL and published (the
    facts, the bridge, the dimensions) has DuckDB's columns and rows (floats to single precision)."""
    _, env, _, status, logs = deployment
    assert status == "SUCCESS", logs
    built_root, _, _ = built_warehouse
    assert publication_differences(built_root / "first_publication" / "kpi.duckdb",
                                   Path(env["KPI_SERVING_DIR"]) / "kpi.duckdb", across_engines=True) == []


SURGE_SIGNALS_KEY = ("country_iso3", "series_id", "month_start_date")
SURGE_SIGNALS_COLUMNS = (*SURGE_SIGNALS_KEY, "series", "value", "expected_value", "ratio", "score", "level",
                         "is_in_alert_window", "is_partial_month", "is_revised", "previous_release_value", "source_vintage")


def test_surge_signals_built_by_postgres_equal_duckdbs(cluster, deployment, built_warehouse):
    """marts.surge_signals is plain SQL that both engines build alike (issue 28): the same rows, levels
    and revisions; expected levels and scores equal to 1e-9 (medians and logs in each engine's floats)."""
    built_root, _, _ = built_warehouse
    select = f"select {', '.join(SURGE_SIGNALS_COLUMNS)} from marts.surge_signals"
    with duckdb.connect(str(built_root / "first_publication" / "kpi.duckdb"), read_only=True) as conn:
        expected = {row[:3]: row for row in conn.execute(select).fetchall()}
    actual = {row[:3]: row for row in pg_rows(cluster, "kpi_warehouse", select)}
    assert len(expected) > 3000 and expected.keys() == actual.keys()
    differences = []
    for key, want in expected.items():
        for name, a, b in zip(SURGE_SIGNALS_COLUMNS, want, actual[key]):
            same = (a is None and b is None) or (
                a is not None and b is not None and math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
                if isinstance(a, float) or isinstance(b, float) else str(a) == str(b))
            if not same:
                differences.append((key, name, a, b))
    assert differences == []
    assert sum(1 for row in actual.values() if row[8] == "surge") > 10


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "orchestration.cli", *args], cwd=REPO_ROOT, env=process_env(env),
                          capture_output=True, text=True, timeout=DEADLINE_SECONDS)


def test_a_backfill_on_postgres_rebuilds_the_range_and_publishes_the_same(cluster, deployment):
    _, env, _, status, _ = deployment
    assert status == "SUCCESS"
    serving = Path(env["KPI_SERVING_DIR"])
    before = duckdb_kpi_annual(serving / "kpi.duckdb")
    spoil = "select count(*), sum(homicide_rate_per_100k) from marts.fct_homicides where year between 2005 and 2006"
    good = pg_rows(cluster, "kpi_warehouse", spoil)
    loads_before = pg_rows(cluster, "kpi_warehouse", "select max(load_seq) from raw.load_ledger")[0][0]
    conn = cluster.connect()
    with conn, conn.cursor() as cur:
        cur.execute("update marts.fct_homicides set homicide_rate_per_100k = homicide_rate_per_100k + 1000 "
                    "where year between 2005 and 2006")
    conn.close()
    result = cli(env, "backfill", "--from", "2005", "--to", "2006")  # the CLI's run goes to the same instance
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "(postgres)" in result.stdout
    assert pg_rows(cluster, "kpi_warehouse", spoil) == good
    assert kpi_annual_differences(before, duckdb_kpi_annual(serving / "kpi.duckdb")) == []
    ledger = pg_rows(cluster, "kpi_warehouse", "select first_year, last_year from raw.load_ledger where load_seq > %s",
                     [loads_before])
    assert ledger and all(years == (2005, 2006) for years in ledger)


def test_a_daily_run_on_postgres_loads_a_new_release_whole_then_skips(cluster, deployment):
    _, env, _, status, _ = deployment
    assert status == "SUCCESS"
    serving = Path(env["KPI_SERVING_DIR"])
    gtm_2020 = "select value from marts.kpi_annual where country_iso3 = 'GTM' and kpi_id = 'homicide_rate' and year = 2020"
    [(before,)] = pg_rows(cluster, SERVING_DATABASE, gtm_2020)
    # the homicide series again, a newer vintage of the newest bundled one, every value revised by -1 %
    worldbank_release(Path(env["KPI_SNAPSHOT_DIR"]), "2026-06-30__synthetic__VC.IHR.PSRC.P5", NEWEST_HOMICIDES, "2026-06-30",
                      lambda iso3, year, value: None if value is None else round(value * 0.99, 6))
    result = cli(env, "daily", "--window-years", "3")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    [(after,)] = pg_rows(cluster, SERVING_DATABASE, gtm_2020)
    assert after == pytest.approx(round(before * 0.99, 6), rel=1e-9)  # a year outside the run's window: loaded whole
    [(first, last, whole)] = pg_rows(cluster, "kpi_warehouse", "select first_year, last_year, whole_release from "
                                     "raw.load_ledger where load_seq = (select max(load_seq) from raw.load_ledger)")
    assert whole and first == 1999  # the new release loaded whole, input year included
    published = current_publication(serving)
    assert published["warehouse_load_seq"] == pg_rows(cluster, "kpi_warehouse", "select max(load_seq) from raw.load_ledger")[0][0]
    again = cli(env, "daily", "--window-years", "3")
    assert again.returncode == 0 and "nothing reloaded, rebuilt or published" in again.stdout, again.stdout[-2000:]
    assert current_publication(serving)["publication_id"] == published["publication_id"]


def test_a_second_writer_on_another_machine_waits_for_the_advisory_lock(cluster, deployment):
    _, env, _, _, _ = deployment
    lock = PostgresAdvisoryLock(PostgresTarget.from_env(env))
    with warehouse_writer(lock, 5, what="a writer on another machine"):
        assert current_holder(PostgresAdvisoryLock(PostgresTarget.from_env(env)))["what"] == "a writer on another machine"
        result = cli({**env, "KPI_WAREHOUSE_LOCK_TIMEOUT_SECONDS": "3"}, "daily")
    assert result.returncode == 1, result.stdout + result.stderr
    message = result.stdout + result.stderr
    assert f"the warehouse postgresql://kpi@127.0.0.1:{cluster.port}/kpi_warehouse is held by pid {os.getpid()}" in message
    assert "a writer on another machine" in message and "gave up after waiting 3 s" in message
    assert cluster.password not in message
    assert current_holder(lock) is None


OLD_TRANSFORM_BUILDS = ("CREATE TABLE meta.transform_builds (load_seq BIGINT, transform_fingerprint VARCHAR, run_id VARCHAR, "
                        "first_year INTEGER, last_year INTEGER, built_at TIMESTAMP)")


def test_both_engines_keep_the_transform_attempts_and_manifests_alike_over_an_older_warehouse(cluster, tmp_path):
    """What orchestration/transform/state.py reads, on DuckDB and on PostgreSQL: the attempts in order,
    one manifest per project (bytes as written), the manifests no attempt since the publication used
    dropped; over a warehouse whose transform_builds predates attempts (built by 0.3.1)."""
    cluster.create_databases("kpi_attempts")
    postgres = PostgresWarehouse(PostgresTarget.from_env({**cluster.env(), "KPI_PG_DATABASE": "kpi_attempts"}))
    duck = DuckDBWarehouse(tmp_path / "kpi.duckdb")
    with duckdb.connect(str(duck.path)) as conn:
        conn.execute("CREATE SCHEMA meta")
        conn.execute(OLD_TRANSFORM_BUILDS)
        conn.execute("INSERT INTO meta.transform_builds VALUES (3, 'f0', 'run-0', 2000, 2026, now())")
    with cluster.connect("kpi_attempts") as conn, conn.cursor() as cur:
        cur.execute("CREATE SCHEMA meta")
        cur.execute(OLD_TRANSFORM_BUILDS)
        cur.execute("INSERT INTO meta.transform_builds VALUES (3, 'f0', 'run-0', 2000, 2026, now())")

    def attempt(fingerprint: str) -> TransformAttempt:
        return TransformAttempt("run", fingerprint, "contracts", "settings", "dbt-core==1")

    manifest = bytes(range(256)) * 3  # a gzip is binary: every byte value survives
    for warehouse in (duck, postgres):
        assert warehouse.last_transform_build() == {"load_seq": 3, "transform_fingerprint": "f0", "run_id": "run-0",
                                                    "attempt_seq": None}, warehouse.engine
        assert warehouse.transform_attempts(0) == [] and warehouse.transform_state("f1") is None
        assert warehouse.record_transform_attempt(attempt("f1"), manifest) == 1
        assert warehouse.record_transform_attempt(attempt("f1"), b"not kept: f1 has one") == 2
        warehouse.record_transform_build(4, "f1", "run", (2000, 2026), 2)
        assert warehouse.last_transform_build()["attempt_seq"] == 2
        assert warehouse.record_transform_attempt(attempt("f2"), b"f2") == 3
        assert [(a.attempt_seq, a.transform_fingerprint) for a in warehouse.transform_attempts(2)] == [(2, "f1"), (3, "f2")]
        assert warehouse.transform_state("f1") == manifest
        warehouse.prune_transform_states(2)
        assert warehouse.transform_state("f1") == manifest and warehouse.transform_state("f2") == b"f2"
        warehouse.prune_transform_states(3)  # a publication from attempt 3: f1 is never compared with again
        assert warehouse.transform_state("f1") is None and warehouse.transform_state("f2") == b"f2", warehouse.engine


def test_two_loads_at_once_get_load_numbers_in_commit_order(cluster):
    """Two sources' transactions in flight together: each waits for the ledger's lock only at its
    last statement, and the load numbers follow the commits, without gaps or duplicates."""
    target = PostgresTarget.from_env({**cluster.env(), "KPI_PG_DATABASE": "kpi_ledger"})
    warehouse = PostgresWarehouse(target)
    frame = pd.DataFrame({"country_iso3": ["HND", "GTM"], "year": [2020, 2020], "value": [1.5, 2.5], "vintage": ["v1", "v1"]})
    blocker = cluster.connect("kpi_ledger")
    blocker.autocommit = True
    with blocker.cursor() as cur:
        cur.execute("SELECT pg_advisory_lock(%s, %s)", LEDGER_LOCK)  # holds every load at its ledger row
    errors: list[BaseException] = []

    def load(source: str) -> None:
        try:
            warehouse.load_source(source, [RawLoad(f"{source}_values", frame, ("country_iso3",), "year")], (2020, 2020),
                                  new_load_id(), "fingerprint", releases=(f"{source}-release",), whole_release=True)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=load, args=(source,)) for source in ("source_a", "source_b")]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 60
    waiting = 0
    while time.monotonic() < deadline and waiting < 2:
        waiting = pg_rows(cluster, "kpi_ledger", "select count(*) from pg_locks where locktype = 'advisory' and not granted "
                                                 "and classid = %s and objid = %s", LEDGER_LOCK)[0][0]
        time.sleep(0.1)
    assert waiting == 2, "both loads reached their ledger row while the other was in flight"
    assert warehouse.last_load_seq() == 0  # nothing committed yet: a reader sees neither load
    with blocker.cursor() as cur:
        cur.execute("SELECT pg_advisory_unlock(%s, %s)", LEDGER_LOCK)
    blocker.close()
    for thread in threads:
        thread.join(60)
    assert errors == []
    history = warehouse.load_history()
    assert [record.load_seq for record in history] == [1, 2]
    assert {record.source for record in history} == {"source_a", "source_b"}
    assert [row[0] for row in pg_rows(cluster, "kpi_ledger", "select count(*) from raw.source_a_values union all "
                                                             "select count(*) from raw.source_b_values")] == [2, 2]
    # the raw tables have the column types the DuckDB warehouse gives the same frame
    assert pg_rows(cluster, "kpi_ledger", "select column_name, data_type from information_schema.columns where "
                   "table_name = 'source_a_values' order by ordinal_position") == [
        ("country_iso3", "text"), ("year", "bigint"), ("value", "double precision"), ("vintage", "text"),
        ("load_id", "text"), ("loaded_at", "timestamp without time zone")]


READER_SCRIPT = r"""
import json, os, sys, time
import psycopg2

dsn, stop_file, out_file = sys.argv[1], sys.argv[2], sys.argv[3]
answers, errors = [], []
conn = psycopg2.connect(dsn)
conn.autocommit = True  # one statement, one snapshot: what a BI tool's query sees
open(out_file + ".ready", "w").close()
deadline = time.monotonic() + 300
while True:
    stopping = os.path.exists(stop_file) or time.monotonic() > deadline
    try:
        with conn.cursor() as cur:
            cur.execute("select p.publication_id, k.n, k.checksum from marts.publication as p cross join ("
                        "select count(*) as n, sum(hashtext(country_iso3 || kpi_id || year || coalesce(value::text, ''))) "
                        "as checksum from marts.kpi_annual) as k")
            answers.append([str(value) for value in cur.fetchone()])
    except Exception as exc:
        errors.append(f"{type(exc).__name__}: {exc}")
    if stopping:
        break
json.dump({"answers": answers, "errors": errors}, open(out_file, "w"))
"""


def test_readers_during_publications_see_the_old_or_the_new_marts(cluster, deployment, tmp_path):
    """A read-only role queries the serving database while publications swap its schema: every answer
    is one publication's, whole; the role's access survives each swap (granted inside it)."""
    _, env, _, status, _ = deployment
    assert status == "SUCCESS"
    settings = load_settings(env)
    before = current_publication(settings.serving_dir)["publication_id"]
    script = tmp_path / "reader.py"
    script.write_text(READER_SCRIPT)
    dsn = f"host=127.0.0.1 port={cluster.port} dbname={SERVING_DATABASE} user={READER_ROLE} password={READER_PASSWORD}"
    stop = tmp_path / "stop"
    readers = []
    for index in range(2):
        out = tmp_path / f"reader-{index}.json"
        readers.append((subprocess.Popen([sys.executable, str(script), dsn, str(stop), str(out)], stderr=subprocess.PIPE,
                                         text=True), out))
    for process, out in readers:
        while not Path(str(out) + ".ready").exists():
            assert process.poll() is None, process.stderr.read()
            time.sleep(0.05)
    published = [before]
    with environment(env):
        for _ in range(2):
            time.sleep(0.5)
            build = warehouse_for(settings).last_transform_build()
            published.append(publish(settings, postgres=settings.postgres, accept_shrink=True, log=lambda message: None,
                                     warehouse_load_seq=build["load_seq"],
                                     transform_fingerprint=build["transform_fingerprint"])["publication_id"])
    time.sleep(0.5)
    stop.write_text("stop")
    results = []
    for process, out in readers:
        _, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr
        results.append(json.loads(out.read_text()))
    assert [result["errors"] for result in results] == [[], []]
    answers = [tuple(answer) for result in results for answer in result["answers"]]
    seen = {publication for publication, _, _ in answers}
    assert seen <= set(published) and len(seen) >= 2, (seen, published)
    # the same data in every publication here, and every answer one publication's whole
    assert len({(rows, checksum) for _, rows, checksum in answers}) == 1
