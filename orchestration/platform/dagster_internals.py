"""Every private Dagster name the project uses (``dagster._*``), in one place, each with what it buys.

An upgrade of Dagster that removes or renames one of them fails tests/unit/test_framework_internals.py
(an import and an attribute or signature check) before any run does.

- The executor (orchestration/platform/executor.py) subclasses Dagster's multiprocess executor so the
  run's own process holds the PostgreSQL warehouse's advisory lock for the whole run while the steps
  load in parallel, each in a process of its own: a correctness reason (no other writer between two
  steps of a run), which no stock executor offers; with DuckDB it is Dagster's in-process executor.
- The instance storage (orchestration/platform/instance_storage.py) keeps one pooled SQLite engine per
  event-log file and stores a step's batch of events in one transaction. Measured at 0.3.1 by
  bench/framework_internals.py (a full build on the bundled snapshot, alternating, 2 rounds on the
  2-core machine): 37.1 and 34.6 s with it, 52.1 and 44.5 s with Dagster's stock ``storage: sqlite``,
  medians 35.9 against 48.3 s: it saves about a quarter of a full build. Since 0.4.1 it also answers
  the schema questions Dagster asks before each asset event from memory once a table is there
  (``has_table``, ``_has_asset_key_col_on_connection``): 1.50 against 1.59 s for a run of 100
  partitions with a check (bench/framework_internals.py, medians of 5).
- Publishing (orchestration/platform/publish_assets.py) reads each asset check's last evaluated record
  by its status, which Dagster exports only under ``_core``.
"""

from __future__ import annotations

# executor.py: Dagster's own config schema, retry modes and executors, so `dagster.yaml` and run config
# keep Dagster's keys (max_concurrent, start_method, tag_concurrency_limits, retries)
from dagster._core.definitions.executor_definition import MULTI_PROC_CONFIG  # noqa: F401
from dagster._core.execution.retries import RetryMode  # noqa: F401
from dagster._core.executor.in_process import InProcessExecutor  # noqa: F401
from dagster._core.executor.multiprocess import MultiprocessExecutor  # noqa: F401
# instance_storage.py: the SQLite storages it extends (one pooled engine per shard, batched events)
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (  # noqa: F401
    INDEX_SHARD_NAME, SQLITE_BUSY_TIMEOUT_SECONDS, SqliteEventLogStorage,
)
from dagster._core.storage.runs import SqliteRunStorage  # noqa: F401
from dagster._core.storage.schedules import SqliteScheduleStorage  # noqa: F401
from dagster._core.storage.sqlite_storage import (  # noqa: F401
    DagsterSqliteStorage,
    _event_logs_directory,
    _runs_directory,
    _schedule_directory,
)
from dagster._utils import mkdir_p  # noqa: F401
# publish_assets.py: the statuses of an asset check's execution records (no public export)
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus  # noqa: F401
# tests: the base class of a run's result read back from a file (tests/conftest.py's RecordedResult)
from dagster._core.execution.execution_result import ExecutionResult  # noqa: F401
# tests: the statuses of a backfill the UI shows (tests/integration/test_ui_backfill.py)
from dagster._core.execution.backfill import BulkActionStatus  # noqa: F401
