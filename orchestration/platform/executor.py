"""The code location's executor: what the warehouse engine allows.

- DuckDB (one read-write process per file): every step of a run in the run's own process (Dagster's
  in-process executor), which holds the warehouse's file lock from its first writing step to its end.
- PostgreSQL (many writers; orchestration/load/postgres_warehouse.py keeps the ledger consistent under
  them): Dagster's multiprocess executor, so sources load in parallel, each step in a process of
  its own (``max_concurrent`` of them, default the machine's cores; forked from a server that
  imported the code location once, unless ``start_method`` says otherwise). The run's own process takes
  the warehouse's advisory lock before the first step and holds it to the end, so another run, on
  this machine or another, never writes in between; the steps find their run holding it.

An ephemeral instance (``dagster job execute`` without DAGSTER_HOME) cannot hand events between
processes, so there the steps run in-process on either engine. ``execute_in_process`` (the CLI,
tests) always runs in-process.
"""

from __future__ import annotations

import dagster as dg
from orchestration.platform.dagster_internals import MULTI_PROC_CONFIG, InProcessExecutor, MultiprocessExecutor, RetryMode

from orchestration.config import load_settings
from orchestration.load.engines import warehouse_for
from orchestration.load.lock import WriterLock, warehouse_writer
from orchestration.load.fetch_phase import FETCH_PHASE_TAG, run_phase


class RunHoldingMultiprocessExecutor(MultiprocessExecutor):
    """Dagster's multiprocess executor, with the run's process holding the warehouse throughout."""

    def __init__(self, lock: WriterLock, timeout_seconds: float, **kwargs):
        super().__init__(**kwargs)
        self._lock = lock
        self._timeout_seconds = timeout_seconds

    def execute(self, plan_context, execution_plan):
        run = plan_context.dagster_run
        settings = load_settings()
        if settings.source_mode == "live" and FETCH_PHASE_TAG not in run.tags:
            # the run's fetch phase before its lock: the steps, in processes of their own, read its record
            from orchestration.platform.source_assets import specs_in_selection

            run_phase(run.run_id, specs_in_selection(run.asset_selection), settings, log=plan_context.log.info)
        with warehouse_writer(self._lock, self._timeout_seconds, what=f"Dagster run of {run.job_name}", run_id=run.run_id,
                              log=plan_context.log.info):
            yield from super().execute(plan_context, execution_plan)


def uses_multiprocess(concurrent_writers: bool, ephemeral_instance: bool) -> bool:
    return concurrent_writers and not ephemeral_instance


@dg.executor(name="kpi_warehouse", config_schema=MULTI_PROC_CONFIG)
def warehouse_executor(init_context: dg.InitExecutorContext):
    config = init_context.executor_config
    retries = RetryMode.from_config(config["retries"])
    settings = load_settings()
    warehouse = warehouse_for(settings)
    if not uses_multiprocess(warehouse.concurrent_writers, init_context.instance.is_ephemeral):
        return InProcessExecutor(retries=retries)
    # forkserver by default: the code location is imported once, and every step's process forks
    # from it, instead of importing Dagster, dbt and the sources again (seconds per step)
    start_method, start_config = next(iter((config.get("start_method") or {"forkserver": {}}).items()))
    return RunHoldingMultiprocessExecutor(
        warehouse.writer_lock(), settings.warehouse_lock_timeout_seconds,
        retries=retries, max_concurrent=config.get("max_concurrent"),
        tag_concurrency_limits=config.get("tag_concurrency_limits"),
        start_method=start_method, explicit_forkserver_preload=(start_config or {}).get("preload_modules"),
    )
