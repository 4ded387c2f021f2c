"""The private names of Dagster, dagster-dbt and dbt-duckdb the project uses, all behind two adapters
(orchestration/platform/dagster_internals.py, orchestration/transform/dbt_internals.py): each import and
the attributes and parameters the project relies on. An upgrade that removes or renames one fails here,
naming it, before a run fails somewhere less clear."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from orchestration.platform import dagster_internals
from orchestration.transform import dbt_internals

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ADAPTERS = {"orchestration/platform/dagster_internals.py", "orchestration/transform/dbt_internals.py"}


def parameters(function) -> set[str]:
    return set(inspect.signature(function).parameters)


def test_dagster_executor_internals():
    # executor.py builds Dagster's multiprocess executor with these and calls its execute()
    assert {"retries", "max_concurrent", "tag_concurrency_limits", "start_method", "explicit_forkserver_preload"} <= \
        parameters(dagster_internals.MultiprocessExecutor.__init__)
    assert callable(dagster_internals.MultiprocessExecutor.execute) and callable(dagster_internals.RetryMode.from_config)
    assert {"retries"} <= parameters(dagster_internals.InProcessExecutor.__init__)
    config = dagster_internals.MULTI_PROC_CONFIG
    assert {"max_concurrent", "start_method", "retries"} <= set(getattr(config, "config_type", config).fields)


def test_dagster_storage_internals():
    # instance_storage.py overrides _connect(shard) and calls these of the SQLite event log it extends
    storage = dagster_internals.SqliteEventLogStorage
    assert parameters(storage._connect) == {"self", "shard"}
    # ... and answers these two schema questions, which Dagster asks before each asset event, from memory
    assert parameters(storage.has_table) == {"self", "table_name"}
    assert parameters(storage._has_asset_key_col_on_connection) == {"self", "conn", "column_name"}
    assert dagster_internals.INDEX_SHARD_NAME == "index"
    for name in ("store_event", "delete_events", "dispose", "conn_string_for_shard", "_initdb"):
        assert callable(getattr(storage, name, None)), name
    assert {"base_dir", "inst_data"} <= parameters(dagster_internals.DagsterSqliteStorage.__init__)
    for directory in (dagster_internals._event_logs_directory, dagster_internals._runs_directory,
                      dagster_internals._schedule_directory):
        assert parameters(directory) == {"base"}
    assert callable(dagster_internals.SqliteRunStorage.from_local) and callable(dagster_internals.SqliteScheduleStorage.from_local)
    assert {"PLANNED", "SUCCEEDED", "FAILED"} <= {status.name for status in dagster_internals.AssetCheckExecutionRecordStatus}
    assert {"REQUESTED", "COMPLETED"} <= {status.name for status in dagster_internals.BulkActionStatus}


def test_dagster_dbt_internals():
    utils = dbt_internals.asset_utils()
    for name in ("DAGSTER_DBT_SELECT_METADATA_KEY", "DAGSTER_DBT_EXCLUDE_METADATA_KEY", "DAGSTER_DBT_SELECTOR_METADATA_KEY"):
        assert isinstance(getattr(utils, name), str), name
    assert callable(utils.get_manifest_and_translator_from_dbt_assets)
    assert {"context", "manifest", "select", "exclude", "selector", "dagster_dbt_translator",
            "current_dbt_indirect_selection_env"} == parameters(utils.get_subset_selection_for_context)
    DbtCoreCliEventMessage = type(dbt_internals.event_message({"info": {}, "data": {}}))
    assert {"raw_event", "event_history_metadata"} <= parameters(DbtCoreCliEventMessage.__init__)
    assert {"manifest", "dagster_dbt_translator", "context", "target_path"} <= parameters(DbtCoreCliEventMessage.to_default_asset_events)


def test_dbt_duckdb_internals(tmp_path):
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    from dbt.adapters.duckdb.credentials import DuckDBCredentials

    assert hasattr(DuckDBConnectionManager, "_ENV")  # what close_duckdb_environment closes
    credentials = DuckDBCredentials(database="kpi", schema="main", path=str(tmp_path / "kpi.duckdb"))
    assert "path" in credentials._connection_keys()  # what the partial-parse patch takes out, and only while it runs
    with dbt_internals.duckdb_path_not_in_profile_hash():
        keys = credentials._connection_keys()
    assert "path" not in keys and "database" in keys
    assert "path" in credentials._connection_keys()


@pytest.mark.parametrize("root", ["orchestration", "tests"])
def test_no_module_but_the_adapters_imports_a_private_framework_name(root):
    """dagster._*, dagster_dbt.asset_utils and dagster_dbt.core are imported by the adapters alone."""
    private = ("dagster._", "dagster_dbt.asset_utils", "dagster_dbt.core")
    found = []
    for path in sorted((PROJECT_ROOT / root).rglob("*.py")):
        module = str(path.relative_to(PROJECT_ROOT))
        if module in ADAPTERS:
            continue
        for node in ast.walk(ast.parse(path.read_text(), module)):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            found += [f"{module}: {name}" for name in names if name.startswith(private)]
    assert found == []
