"""Promise 13, as stated: the PostgreSQL password and the webhook URL's token appear in nothing a run
leaves, searched where a failing PostgreSQL run with a webhook writes.

A real PostgreSQL 15 (password authentication, scram-sha-256: the password is needed and used) is the
warehouse of ``python -m orchestration.cli run``; the run loads every source, builds and tests the marts
with dbt, then fails at publishing (its PostgreSQL publication database does not exist), so it leaves
logs, dbt's artifacts, Dagster's storage (run records, event log, compute logs), a failure record and a
webhook post to a real local HTTP server. Every byte of them is searched for both secrets.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from orchestration.core.settings import DBT_PROJECT_DIR
from tests.conftest import REPO_ROOT
from tests.pg import start_cluster

pytestmark = pytest.mark.integration


def files_under(*roots: Path):
    for root in roots:
        if root.is_file():
            yield root
        elif root.is_dir():
            yield from (path for path in root.rglob("*") if path.is_file() and not path.is_symlink())


def test_a_failing_postgres_run_with_a_webhook_leaves_no_secret_anywhere(httpserver, tmp_path):
    token = f"tok3n{secrets.token_hex(12)}"
    hook_path = f"/services/T0000/B0000/{token}"
    httpserver.expect_request(hook_path, method="POST").respond_with_data("ok")
    cluster = start_cluster()
    try:
        password = cluster.password
        env = {name: value for name, value in os.environ.items() if not name.startswith(("KPI_", "DAGSTER_"))}
        env.update(cluster.env(), KPI_WAREHOUSE="postgres", KPI_ALERT_WEBHOOK_URL=httpserver.url_for(hook_path),
                   KPI_PUBLISH_POSTGRES="1", KPI_PG_PUBLISH_DATABASE="no_such_serving_database",
                   KPI_SERVING_DIR=str(tmp_path / "serving"), KPI_LANDING_DIR=str(tmp_path / "landing"),
                   KPI_LOG_DIR=str(tmp_path / "logs"), KPI_FAILURES_DIR=str(tmp_path / "failures"),
                   DAGSTER_HOME=str(tmp_path / "dagster_home"), KPI_WAREHOUSE_PATH=str(tmp_path / "warehouse" / "kpi.duckdb"))
        run = subprocess.run([sys.executable, "-m", "orchestration.cli", "run"], cwd=REPO_ROOT, env=env,
                             capture_output=True, text=True, timeout=2400)
    finally:
        cluster.stop()
    output = run.stdout + run.stderr
    # it failed where it should: after the loads and dbt, at publishing
    assert run.returncode == 1, output[-4000:]
    [record_file] = list((tmp_path / "failures").glob("*.json"))
    record = json.loads(record_file.read_text())
    # the publishing step failed (its record's message is Dagster's first line only; the cause, the missing
    # database, is in the run's log)
    assert "publish_marts" in record["message"] and "publish_marts" in record["failed_steps"], record
    assert "no_such_serving_database" in "".join(path.read_text() for path in (tmp_path / "logs").glob("*.log"))
    posted = [request.get_data() for request, _ in httpserver.log]
    assert len(posted) == 1 and json.loads(posted[0])["record"]["run_id"] == record["run_id"]
    dbt_artifacts = sorted((DBT_PROJECT_DIR / "target").glob(f"step-*-{record['run_id'][:8]}"))
    assert dbt_artifacts and any((path / "run_results.json").is_file() for path in dbt_artifacts)
    dagster_storage = tmp_path / "dagster_home"
    assert any(dagster_storage.rglob("*.db")) or any(dagster_storage.rglob("*.sqlite"))

    places = {"the CLI's output": output.encode(), **{f"webhook post {n}": body for n, body in enumerate(posted)}}
    for path in files_under(tmp_path, *dbt_artifacts):
        places[str(path)] = path.read_bytes()
    assert len(places) > 20  # logs, failure record, landings, dbt's artifacts, Dagster's storage
    for place, data in places.items():
        for secret, what in ((password, "the PostgreSQL password"), (token, "the webhook's token")):
            assert secret.encode() not in data, f"{what} found in {place}"


def test_a_dbt_build_gets_its_profile_without_the_process_environment(built_warehouse, tmp_path):
    """The dbt step hands dbt its profile (the PostgreSQL password among it) in a private file for the
    invocation, never through ``os.environ`` (which every process the run starts would inherit): after a
    run, the process environment is as before, and the password is in none of its events, logs or dbt's
    artifacts, nor in a profile left behind."""
    import tempfile

    import dagster as dg

    from tests.conftest import all_years, copy_of_built, run_job

    password = f"pw{secrets.token_hex(12)}"
    env = {**copy_of_built(built_warehouse, tmp_path), "KPI_PG_PASSWORD": password, "KPI_PG_HOST": "pg.invalid"}
    kpi_variables_before = {name: value for name, value in os.environ.items() if name.startswith("KPI_")}
    # this process's profile directories only: other workers' and sessions' dbt runs make and remove theirs meanwhile
    own_profiles = f"kpi-dbt-profile-{os.getpid()}-*"
    profiles_before = set(Path(tempfile.gettempdir()).glob(own_profiles))
    (tmp_path / "dagster_home").mkdir()
    instance = dg.DagsterInstance.local_temp(str(tmp_path / "dagster_home"))
    result = run_job(env, *all_years(), instance=instance, job="kpi_transform_publish")
    assert result.success, [event.message for event in result.all_events if event.is_failure]
    assert any(event.step_key == "kpi_dbt_models" and event.is_step_success for event in result.all_events)
    assert {name: value for name, value in os.environ.items() if name.startswith("KPI_")} == kpi_variables_before
    assert not [name for name, value in os.environ.items() if password in value]
    assert set(Path(tempfile.gettempdir()).glob(own_profiles)) == profiles_before  # the profile went with dbt

    dbt_artifacts = sorted((DBT_PROJECT_DIR / "target").glob(f"step-*-{result.run_id[:8]}"))
    assert dbt_artifacts and any((path / "run_results.json").is_file() for path in dbt_artifacts)
    places = {"event log": "\n".join(dg.serialize_value(record.event_log_entry)
                                     for record in instance.get_records_for_run(result.run_id).records).encode()}
    for path in files_under(tmp_path / "dagster_home", *dbt_artifacts):
        places[str(path)] = path.read_bytes()
    assert any("dbt (in-process)" in data.decode(errors="replace") for data in places.values())
    for place, data in places.items():
        assert password.encode() not in data, f"the PostgreSQL password found in {place}"
