"""Parse ahead in real Dagster runs (orchestration/load/parse_ahead.py, started by the first loading
step): the worker parses the run's sources, the steps load what it parsed, and a run whose worker
cannot start loads the same rows, each step parsing its own source."""

from __future__ import annotations

import dagster as dg
import duckdb

from orchestration.load import parse_ahead
from tests.conftest import all_years, run_job, warehouse_env

SOURCES = {"unodc": "unodc_drug_seizures", "worldbank": "worldbank_indicator_values", "unhcr": "unhcr_population"}


def load_run(root, instance):
    env = warehouse_env(root)
    result = run_job(env, *all_years(), job="kpi_load", instance=instance,
                     asset_selection=[dg.AssetKey(["raw", table]) for table in SOURCES.values()])
    assert result.success
    messages = [entry.user_message for entry in instance.all_logs(result.run_id)]
    with duckdb.connect(env["KPI_WAREHOUSE_PATH"], read_only=True) as conn:
        rows = {table: sorted(map(repr, conn.execute(f"select * exclude (load_id, loaded_at) from raw.{table}").fetchall()))
                for table in SOURCES.values()}
    return messages, rows


def test_a_load_run_parses_ahead_and_loads_what_a_run_without_the_worker_loads(tmp_path, monkeypatch):
    with dg.DagsterInstance.ephemeral() as instance:
        messages, rows = load_run(tmp_path / "ahead", instance)
    started = [message for message in messages if "parsing ahead in process" in message]
    assert len(started) == 1, messages  # once per run, by its first loading step
    parsed_ahead = {name for name in SOURCES if any(f"{name}: parsed ahead by process" in message for message in messages)}
    assert parsed_ahead, messages
    for name in parsed_ahead:  # the step read what the worker parsed, from the cache
        assert any(message.startswith(f"{name}: parsed frames of these landings reused") for message in messages), messages

    def cannot_start(*args, **kwargs):
        raise OSError("fork refused")

    monkeypatch.setattr(parse_ahead, "start", cannot_start)
    with dg.DagsterInstance.ephemeral() as instance:
        without, rows_without = load_run(tmp_path / "without", instance)
    assert any("not parsing ahead (OSError: fork refused)" in message for message in without), without
    assert not any("parsed ahead by process" in message for message in without)
    assert rows_without == rows and all(rows.values())
