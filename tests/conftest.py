from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from orchestration.platform.dagster_internals import ExecutionResult

REPO_ROOT = Path(__file__).resolve().parent.parent
SNAPSHOT_DIR = REPO_ROOT / "snapshot"
COUNTRIES = ("HND", "GTM", "SLV", "NIC", "MEX")


# Test modules whose tests share state in file order (one warehouse that each test leaves to the
# next), or share a module fixture too dear to make on both workers (the PostgreSQL deployment's
# full build through three processes, about 110 s): with xdist they run on one worker, in order.
# Every other test goes to whichever worker is free.
SERIAL_MODULES = frozenset({"tests/integration/test_crashes.py", "tests/integration/test_postgres_deployment.py"})


# The tests that drive real runs end to end for minutes, longest first (by `--durations` of a full
# run): they start first, so that the two workers end together on short tests instead of one worker
# running a five-minute test alone at the end. A prefix of a test id; the rest keep their file order.
LONG_RUNNING_FIRST = (
    "tests/integration/test_postgres_deployment.py",  # its module fixture: a full build through three processes
    "tests/integration/test_upgrades.py::test_an_upgrade_over_an_earlier_versions_postgres_warehouse",
    "tests/integration/test_upgrades.py::test_an_upgrade_over_an_earlier_versions_warehouse",
    "tests/integration/test_upgrades.py::test_a_build_over_a_warehouse_with_tables_of_removed_models",
    "tests/integration/test_path_independence.py",
    "tests/integration/test_writers_through_the_daemon.py",
    "tests/integration/test_writers.py",
    "tests/integration/test_ui_backfill.py",
    "tests/integration/test_surge_signals.py",
    "tests/integration/test_crashes.py",
)


def long_running_rank(nodeid: str) -> int:
    """Where a test starts: its prefix's place in LONG_RUNNING_FIRST, or after all of them."""
    return next((rank for rank, prefix in enumerate(LONG_RUNNING_FIRST) if nodeid.startswith(prefix)),
                len(LONG_RUNNING_FIRST))


def pytest_collection_modifyitems(config, items):
    # a stable sort: within a rank (a module whose tests share state among them) the file order holds
    items.sort(key=lambda item: long_running_rank(item.nodeid))


def pytest_xdist_make_scheduler(config, log):
    """xdist's load-scope scheduling with each test a scope of its own, but SERIAL_MODULES whole, in
    the collection's order.
    (xdist's own --dist loadgroup relies on a pytest attribute pytest 9 no longer has.)"""
    from xdist.scheduler import LoadScopeScheduling

    config.option.loadscopereorder = False  # the collection's order (LONG_RUNNING_FIRST), not the scopes' sizes

    class SerialModulesScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return module if module in SERIAL_MODULES else nodeid

    return SerialModulesScheduling(config, log)


@pytest.fixture(autouse=True, scope="session")
def _quiet_tools():
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "true")


def warehouse_env(root: Path, **overrides: str) -> dict[str, str]:
    """Settings for a warehouse entirely under ``root`` (replay of the bundled snapshot by default)."""
    env = {
        "KPI_WAREHOUSE_PATH": str(root / "warehouse" / "kpi.duckdb"),
        "KPI_SERVING_DIR": str(root / "serving"),
        "KPI_LANDING_DIR": str(root / "landing"),
        "KPI_FAILURES_DIR": str(root / "failures"),
        "KPI_VALIDATION_DIR": str(root / "validation"),
        "KPI_SNAPSHOT_DIR": str(SNAPSHOT_DIR),
        "KPI_SOURCE_MODE": "replay",
        "KPI_HTTP_BACKOFF_FACTOR": "0",
        "KPI_HTTP_RETRIES": "3",
        "KPI_HTTP_TIMEOUT_SECONDS": "2",
    }
    env.update(overrides)
    return env


def schedule_away_from_now() -> dict[str, str]:
    """Settings that put the daily schedule twelve hours from now: a test that starts a real daemon
    (which runs the schedule, on by default) sees only its own runs at any time of day (at the
    default 06:00 UTC the scheduled daily run once started inside the UI backfill test)."""
    import datetime as dt

    hour = (dt.datetime.now(dt.timezone.utc).hour + 12) % 24
    return {"KPI_SCHEDULE_CRON": f"0 {hour} * * *", "KPI_SCHEDULE_TIMEZONE": "UTC"}


def run_job(env: dict[str, str], first_year: int, last_year: int, force: bool = True, instance=None,
            asset_selection=None, job: str = "kpi_full_build", tags: dict[str, str] | None = None):
    """One run of ``job`` over a range of yearly partitions, with ``env``'s values as the code location's
    resources (built with explicit values: no environment variable is set)."""
    import dagster as dg

    from orchestration.cli import partition_range_tags
    from orchestration.definitions import build_definitions
    from orchestration.platform.resources import resources_from_mapping

    return build_definitions(resources_from_mapping(env)).resolve_job_def(job).execute_in_process(
        instance=instance or dg.DagsterInstance.ephemeral(),
        tags=tags or partition_range_tags(first_year, last_year, force),
        asset_selection=asset_selection,
        raise_on_error=False,
    )


def all_years() -> tuple[int, int]:
    from orchestration.platform.partitions import YEARLY

    keys = YEARLY.get_partition_keys()
    return int(keys[0]), int(keys[-1])


def made_once(target: Path, make: Callable[[Path], None]) -> Path:
    """``target``, a directory made by ``make`` once for every process that asks (xdist workers): the
    first makes it while holding a file lock, the others wait for it and reuse it. A failed ``make``
    leaves nothing complete, so the next process tries again (and fails the same way)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f"{target.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (target / ".complete").is_file():
            shutil.rmtree(target, ignore_errors=True)
            target.mkdir()
            make(target)
            (target / ".complete").touch()
    return target


def machine_cache_dir(name: str) -> Path:
    """A directory kept across runs and clones on this machine: ``$XDG_CACHE_HOME`` (default
    ~/.cache) ``/kpi-warehouse-tests/<name>``, for what tests make once from inputs that never change
    under a name that says them all (an earlier commit and the lock of the venv that built it), so
    that a new clone, or CI restoring that directory, does not make it again."""
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return root / "kpi-warehouse-tests" / name


def shared_dir(tmp_path_factory, name: str, make: Callable[[Path], None]) -> Path:
    """A directory made once per ``pytest`` run and shared by its xdist workers (``made_once``)."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # the run's own temp root, common to its workers
    return made_once(base / "shared" / name, make)


class RecordedResult(ExecutionResult):
    """A finished run's events read back from a file: what tests ask of a run's result (its events,
    materializations, check evaluations), in a process that did not run it."""

    def __init__(self, events, build_root: Path):
        self._events = list(events)
        self.build_root = build_root  # where the run wrote; never changed after it (see built_warehouse)

    @property
    def all_events(self):
        return self._events

    @property
    def success(self) -> bool:
        return any(event.event_type_value == "RUN_SUCCESS" for event in self._events)

    @property
    def job_def(self):
        raise NotImplementedError("a recorded result has no job definition")

    @property
    def dagster_run(self):
        raise NotImplementedError("a recorded result has no run record")

    @property
    def run_id(self) -> str:
        return self._events[0].run_id if self._events else ""

    def _get_output_for_handle(self, handle, output_name):
        raise NotImplementedError("a recorded result holds no outputs")


EVENTS_FILE = "events.json"


def _full_build(root: Path) -> None:
    from dagster import serialize_value

    from orchestration.publish.publication import current_publication

    result = run_job(warehouse_env(root), *all_years())
    assert result.success, [event.message for event in result.all_events if event.is_failure]
    # later tests publish again and only the last releases are kept: keep this build's own for them
    publication_id = current_publication(root / "serving")["publication_id"]
    shutil.copytree(root / "serving" / "releases" / publication_id, root / "first_publication")
    (root / EVENTS_FILE).write_text(serialize_value(list(result.all_events)))


@pytest.fixture(scope="session")
def built_warehouse(tmp_path_factory):
    """One full build of the bundled snapshot (a build costs a minute), made once per ``pytest`` run
    and shared by every worker, each of which gets its own copy: (root, env, result).

    Tests of one worker share its copy: tests that change it must leave it as they found it (a
    backfill of the same bytes does), or work on a copy of their own (test_operation_paths.py's
    ``copy_of_built``).
    """
    from dagster import deserialize_value

    shared = shared_dir(tmp_path_factory, "full-build", _full_build)
    root = tmp_path_factory.mktemp("built")
    for part in ("warehouse", "serving", "first_publication"):
        shutil.copytree(shared / part, root / part, symlinks=True)  # the serving links are relative
    result = RecordedResult(deserialize_value((shared / EVENTS_FILE).read_text()), shared)
    return root, warehouse_env(root), result


def snapshot_of_links(root: Path) -> Path:
    """``root/snapshot``: the bundled snapshot's landings as links, with room for new releases."""
    for source_dir in SNAPSHOT_DIR.iterdir():
        if source_dir.is_dir():
            (root / "snapshot" / source_dir.name).mkdir(parents=True)
            for landing in source_dir.iterdir():
                (root / "snapshot" / source_dir.name / landing.name).symlink_to(landing, target_is_directory=True)
    return root / "snapshot"


def copy_of_built(built_warehouse, root: Path) -> dict[str, str]:
    """A warehouse and serving directory as the shared full build left them (whatever the worker's
    earlier tests did to its own copy), with a snapshot that holds the bundled landings (as links)
    and room for new releases."""
    _, env, result = built_warehouse
    built_root = result.build_root
    shutil.copytree(built_root / "warehouse", root / "warehouse")
    shutil.copytree(built_root / "serving", root / "serving", symlinks=True)
    snapshot_of_links(root)
    return {**env, "KPI_WAREHOUSE_PATH": str(root / "warehouse" / "kpi.duckdb"), "KPI_SERVING_DIR": str(root / "serving"),
            "KPI_SNAPSHOT_DIR": str(root / "snapshot"), "KPI_LANDING_DIR": str(root / "landing"),
            "KPI_FAILURES_DIR": str(root / "failures")}
