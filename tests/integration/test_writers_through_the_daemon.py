"""Promise 31 for the runs a real dagster-daemon starts: one launched from the UI (the GraphQL mutation
launchPipelineExecution the launchpad sends) and the daily schedule's tick. Another process holds the
warehouse's writer lock, as another writer would. Both runs wait for it, saying who holds it; the UI's
run gives up after KPI_WAREHOUSE_LOCK_TIMEOUT_SECONDS with a failure record and writes nothing; the
schedule's run, once the holder is done, loads the new release and its sensor's run publishes what
the daily path alone publishes. One daemon serves both runs."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration.load.lock import current_holder
from orchestration.publish.publication import current_publication
from tests.conftest import REPO_ROOT, copy_of_built
from tests.releases import new_homicide_release, newest_homicide_values

pytestmark = pytest.mark.integration
LOCK_TIMEOUT_SECONDS = 45
DEADLINE_SECONDS = 600

# Another writer: holds the lock until the file named by argv[2] exists.
HOLDER = """
import sys, time
from pathlib import Path
from orchestration.load.lock import warehouse_writer
with warehouse_writer(Path(sys.argv[1]), 5, what="another writer of the daemon test"):
    print("holding", flush=True)
    while not Path(sys.argv[2]).exists():
        time.sleep(0.1)
"""


def schedule_once_soon() -> dict[str, str]:
    """The daily schedule at a minute one to two minutes from now: one tick while the test runs (an
    every-minute cron would launch a run each minute: the daemon does not skip a tick whose run key,
    the day, it has seen)."""
    soon = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=120)
    return {"KPI_SCHEDULE_CRON": f"{soon.minute} {soon.hour} * * *", "KPI_SCHEDULE_TIMEZONE": "UTC"}


def launch_from_the_launchpad(instance: dg.DagsterInstance, job_name: str, tags: dict[str, str]) -> str:
    from dagster_graphql.client.query import LAUNCH_PIPELINE_EXECUTION_MUTATION
    from dagster_graphql.test.utils import define_out_of_process_context, execute_dagster_graphql, infer_job_selector

    with define_out_of_process_context(str(REPO_ROOT / "workspace.yaml"), None, instance) as context:
        result = execute_dagster_graphql(context, LAUNCH_PIPELINE_EXECUTION_MUTATION, variables={"executionParams": {
            "selector": infer_job_selector(context, job_name), "runConfigData": {},
            "executionMetadata": {"tags": [{"key": key, "value": value} for key, value in tags.items()]}}})
    assert result.errors is None, result.errors
    launched = result.data["launchPipelineExecution"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    return launched["run"]["runId"]


def messages_of(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    return [record.user_message or "" for record in instance.all_logs(run_id)]


def step_failures_of(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    """What each failed step said (its dg.Failure's description), as the UI shows it."""
    failures = []
    for record in instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_FAILURE):
        data = record.dagster_event.step_failure_data
        failures.append((data.user_failure_data.description if data.user_failure_data else None)
                        or (data.error.message if data.error else "") or "")
    return failures


def waited(instance: dg.DagsterInstance, run_id: str, holder_pid: int) -> bool:
    return any("waiting for the warehouse" in message and f"held by pid {holder_pid}" in message
               and "another writer of the daemon test" in message for message in messages_of(instance, run_id))


def scheduled_runs(instance: dg.DagsterInstance) -> list[dg.DagsterRun]:
    return [run for run in instance.get_runs() if run.tags.get("kpi/trigger") == "daily_schedule"]


def test_ui_and_schedule_runs_meet_a_held_writer_lock(built_warehouse, tmp_path, monkeypatch):
    env = copy_of_built(built_warehouse, tmp_path)
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(REPO_ROOT / "dagster.yaml", home / "dagster.yaml")
    env = {**env, "DAGSTER_HOME": str(home), "KPI_LOG_DIR": str(tmp_path / "logs"),
           "KPI_WAREHOUSE_LOCK_TIMEOUT_SECONDS": str(LOCK_TIMEOUT_SECONDS),
           **schedule_once_soon()}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    warehouse = Path(env["KPI_WAREHOUSE_PATH"])
    serving = Path(env["KPI_SERVING_DIR"])
    published_before = current_publication(serving)["publication_id"]
    new_homicide_release(tmp_path / "snapshot")  # what the schedule's run will find
    done = tmp_path / "holder-done"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(warehouse), str(done)], cwd=REPO_ROOT,
                              env={**os.environ, **env}, stdout=subprocess.PIPE, text=True)
    daemon = None
    try:
        assert holder.stdout.readline().strip() == "holding"
        assert current_holder(warehouse)["pid"] == holder.pid

        instance = dg.DagsterInstance.get()
        ui_run = launch_from_the_launchpad(instance, "kpi_transform_publish", {
            "dagster/asset_partition_range_start": "2024", "dagster/asset_partition_range_end": "2024"})
        daemon = subprocess.Popen(
            [str(Path(sys.executable).with_name("dagster-daemon")), "run", "-w", str(REPO_ROOT / "workspace.yaml")],
            cwd=REPO_ROOT, env={**os.environ, **env}, stdout=open(tmp_path / "daemon.log", "w"),
            stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + DEADLINE_SECONDS

        def daemon_log() -> str:
            return (tmp_path / "daemon.log").read_text()[-3000:]

        # the holder lets go only once the UI's run gave up and the schedule's run is waiting for it
        while True:
            assert time.monotonic() < deadline, daemon_log()
            ui = instance.get_run_by_id(ui_run)
            scheduled = scheduled_runs(instance)
            if ui.is_finished and scheduled and waited(instance, scheduled[0].run_id, holder.pid):
                break
            time.sleep(1)
        assert holder.poll() is None and current_holder(warehouse)["pid"] == holder.pid
        done.touch()
        holder.wait(timeout=60)

        # the schedule's load run goes on; its sensor starts the transform run, which publishes
        while not (current_publication(serving)["publication_id"] != published_before
                   and all(run.is_finished for run in instance.get_runs())):
            assert time.monotonic() < deadline, daemon_log()
            time.sleep(1)
    finally:
        done.touch()
        holder.wait(timeout=60)
        if daemon is not None:
            os.killpg(daemon.pid, signal.SIGTERM)
            daemon.wait(timeout=60)

    # the UI's run waited, naming the holder, then failed after the timeout, wrote nothing, left a record
    ui = instance.get_run_by_id(ui_run)
    assert ui.status == dg.DagsterRunStatus.FAILURE
    assert waited(instance, ui_run, holder.pid)
    [failure] = step_failures_of(instance, ui_run)
    assert f"held by pid {holder.pid}" in failure and "another writer of the daemon test" in failure, failure
    assert f"gave up after waiting" in failure and f"KPI_WAREHOUSE_LOCK_TIMEOUT_SECONDS={LOCK_TIMEOUT_SECONDS}" in failure
    assert instance.get_records_for_run(ui_run, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION).records == []
    records = [json.loads(path.read_text()) for path in Path(env["KPI_FAILURES_DIR"]).glob("*.json")]
    assert [record["job"] for record in records if record["run_id"] == ui_run] == ["kpi_transform_publish"]

    # the schedule's run waited, then loaded; the run its sensor started published once, as one writer would
    [load] = scheduled_runs(instance)
    assert load.status == dg.DagsterRunStatus.SUCCESS
    [publishing] = [run for run in instance.get_runs() if run.tags.get("kpi/after_load_run") == load.run_id]
    assert publishing.status == dg.DagsterRunStatus.SUCCESS
    record = current_publication(serving)
    assert record["run_id"] == publishing.run_id
    assert [run.run_id for run in instance.get_runs() if run.status == dg.DagsterRunStatus.FAILURE] == [ui_run]
    with duckdb.connect(str(serving / "kpi.duckdb"), read_only=True) as conn:
        years = {year for (year,) in conn.execute("select year from marts.kpi_annual where country_iso3 = 'HND' "
                                                  "and kpi_id = 'homicide_rate'").fetchall()}
        hnd_2011 = conn.execute("select value from marts.kpi_annual where country_iso3 = 'HND' "
                                "and kpi_id = 'homicide_rate' and year = 2011").fetchall()
    assert {2023, 2024} <= years
    assert hnd_2011 == [(round(newest_homicide_values()[("HND", 2011)] * 0.99, 6),)]  # the new release, revised -1 %
    assert current_holder(warehouse) is None
