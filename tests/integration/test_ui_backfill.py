"""A partition backfill launched as the Dagster UI launches it (the GraphQL mutation
launchPartitionBackfill over every asset and partitions 2005-2006), executed by a real
dagster-daemon: every loader reloads the range, the incremental facts cover it, and publishing
runs once, after them."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
from orchestration.platform.dagster_internals import BulkActionStatus  # the backfill statuses the UI shows (no public export)
import duckdb
import pytest

from orchestration.publish.publication import current_publication
from tests.conftest import REPO_ROOT, copy_of_built, schedule_away_from_now

pytestmark = pytest.mark.integration
DEADLINE_SECONDS = 420


def launch_ui_backfill(instance: dg.DagsterInstance, partitions: list[str]) -> str:
    from dagster_graphql.client.query import LAUNCH_PARTITION_BACKFILL_MUTATION
    from dagster_graphql.test.utils import define_out_of_process_context, execute_dagster_graphql

    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    # "Materialize all" on the asset graph: every materializable asset
    keys = [{"path": key.path} for key in graph.get_all_asset_keys() if graph.get(key).is_materializable]
    with define_out_of_process_context(str(REPO_ROOT / "workspace.yaml"), None, instance) as context:
        result = execute_dagster_graphql(context, LAUNCH_PARTITION_BACKFILL_MUTATION, variables={
            "backfillParams": {"assetSelection": keys, "partitionNames": partitions}})
    assert result.errors is None, result.errors
    launched = result.data["launchPartitionBackfill"]
    assert launched["__typename"] == "LaunchBackfillSuccess", launched
    return launched["backfillId"]


def test_a_ui_backfill_covers_the_range_and_publishes_once(built_warehouse, tmp_path, monkeypatch):
    env = copy_of_built(built_warehouse, tmp_path)
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(REPO_ROOT / "dagster.yaml", home / "dagster.yaml")
    env = {**env, "DAGSTER_HOME": str(home), **schedule_away_from_now()}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    warehouse = Path(env["KPI_WAREHOUSE_PATH"])
    serving = Path(env["KPI_SERVING_DIR"])
    published_before = current_publication(serving)["publication_id"]
    # spoil the range's rows of an incremental fact: only a rebuild of 2005-2006 puts them right
    with duckdb.connect(str(warehouse)) as conn:
        good = conn.execute("select count(*), sum(homicide_rate_per_100k) from marts.fct_homicides where year between 2005 and 2006").fetchone()
        conn.execute("update marts.fct_homicides set homicide_rate_per_100k = homicide_rate_per_100k + 1000 where year between 2005 and 2006")

    instance = dg.DagsterInstance.get()
    backfill_id = launch_ui_backfill(instance, ["2005", "2006"])
    daemon = subprocess.Popen(
        [str(Path(sys.executable).with_name("dagster-daemon")), "run", "-w", str(REPO_ROOT / "workspace.yaml")],
        cwd=REPO_ROOT, env={**os.environ, **env}, stdout=open(tmp_path / "daemon.log", "w"), stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + DEADLINE_SECONDS
        while time.monotonic() < deadline:
            backfill = instance.get_backfill(backfill_id)
            if backfill.status not in (BulkActionStatus.REQUESTED,):
                break
            time.sleep(2)
        # the runs of a finished backfill may still be ending
        while time.monotonic() < deadline and any(not run.is_finished for run in instance.get_runs()):
            time.sleep(1)
    finally:
        os.killpg(daemon.pid, signal.SIGTERM)
        daemon.wait(timeout=60)
    runs = list(reversed(instance.get_runs()))  # oldest first
    log = (tmp_path / "daemon.log").read_text()[-3000:]
    assert backfill.status == BulkActionStatus.COMPLETED_SUCCESS, (backfill.status, log)
    assert runs and all(run.status == dg.DagsterRunStatus.SUCCESS for run in runs), [(r.job_name, r.status) for r in runs]

    materializations = {}
    for run in runs:
        for record in instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION).records:
            event = record.event_log_entry.dagster_event
            materializations.setdefault(event.asset_key.to_user_string(), []).append((run.run_id, event.partition))
    # every loader reloaded exactly the range, in one run
    raw = {key: parts for key, parts in materializations.items() if key.startswith("raw/")}
    assert raw and all(sorted(p for _, p in parts) == ["2005", "2006"] for parts in raw.values()), raw
    assert len({run_id for parts in raw.values() for run_id, _ in parts}) == 1
    # the incremental facts were rebuilt, then published once, in the same run after them
    assert [p for _, p in materializations["marts/fct_homicides"]] == [None]
    [(publish_run, _)] = materializations["serving/kpi_marts"]
    order = [run.run_id for run in runs]
    assert order.index(materializations["marts/fct_homicides"][0][0]) <= order.index(publish_run), (
        [(run.run_id[:8], sorted(k.to_user_string() for k in run.asset_selection or [])[:3]) for run in runs])
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        rebuilt = conn.execute("select count(*), sum(homicide_rate_per_100k) from marts.fct_homicides "
                               "where year between 2005 and 2006").fetchone()
    assert rebuilt == (good[0], pytest.approx(good[1], rel=1e-12))
    assert current_publication(serving)["publication_id"] != published_before
