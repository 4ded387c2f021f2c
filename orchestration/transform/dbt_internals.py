"""Every private name of dbt-duckdb and dagster-dbt the project uses, in one place, each with what it buys.

An upgrade of dbt-duckdb or dagster-dbt that removes or renames one of them fails
tests/unit/test_framework_internals.py (an import and an attribute or signature check), before any run
does. The imports stay inside functions: a load-only run never imports dbt (about 4 s,
orchestration/platform/jobs.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def duckdb_path_not_in_profile_hash() -> Iterator[None]:
    """dbt re-parses the whole project (about 8 s here) when the profile's connection keys differ from
    the saved partial-parse state's, and dbt-duckdb counts the warehouse's ``path`` among them, so
    every new warehouse (each test, each fresh checkout's first run, the bench) paid a full parse.
    Parsing never reads the path (the database name, from the file name, stays in the hash).
    Private: ``DuckDBCredentials._connection_keys``. Measured at 0.3.1 by bench/framework_internals.py
    (``dbt parse`` for a warehouse at a new path beside another path's state, 2 rounds): 0.3 s with it,
    2.7 s without, on every new warehouse path (each test's, each fresh checkout's first run, the bench).
    tests/integration/test_dbt_runner.py fails if an upgrade stops the state being reused across paths."""
    try:
        from dbt.adapters.duckdb.credentials import DuckDBCredentials
    except ImportError:
        yield
        return
    original = DuckDBCredentials._connection_keys

    def without_path(self):
        return tuple(key for key in original(self) if key != "path")

    DuckDBCredentials._connection_keys = without_path
    try:
        yield
    finally:
        DuckDBCredentials._connection_keys = original


def close_duckdb_environment() -> None:
    """Close the DuckDB database dbt-duckdb keeps open in this process after an invocation (private:
    ``DuckDBConnectionManager._ENV``; dbt-duckdb has no public way to). Not a speed figure but a
    necessity: without it the warehouse file stays locked by this process until it ends, and nothing
    else (``dbt docs generate``, the next step's loader in another process, a reader) can open it."""
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # the duckdb adapter was never loaded
        return
    environment = DuckDBConnectionManager._ENV
    if environment is not None:
        environment.close()
    DuckDBConnectionManager.close_all_connections()


def asset_utils():
    """dagster-dbt's ``asset_utils`` module (no public export): the manifest and translator of a
    ``@dbt_assets`` definition, and the dbt selection of a step's subset, exactly as ``DbtCliResource``
    computes them. They let dbt run in-process (``dbtRunner``, dbt's documented API) instead of a
    ``dbt`` process per step: about 15 s a step before the first model on this machine when measured
    (orchestration/transform/dbt_runner.py)."""
    from dagster_dbt import asset_utils as module

    return module


def manifest_and_translator(assets_def):
    """(manifest, translator) of a ``@dbt_assets`` definition."""
    manifest, translator, _ = asset_utils().get_manifest_and_translator_from_dbt_assets([assets_def])
    return manifest, translator


def event_message(raw_event: dict):
    """dagster-dbt's conversion of one dbt structured event into Dagster's events
    (``dagster_dbt.core.dbt_cli_event.DbtCoreCliEventMessage``, not exported at the package's top)."""
    from dagster_dbt.core.dbt_cli_event import DbtCoreCliEventMessage

    return DbtCoreCliEventMessage(raw_event=raw_event, event_history_metadata={})
