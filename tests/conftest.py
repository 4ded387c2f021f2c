from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SNAPSHOT_DIR = REPO_ROOT / "snapshot"
COUNTRIES = ("HND", "GTM", "SLV", "NIC", "MEX")


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
        "KPI_SNAPSHOT_DIR": str(SNAPSHOT_DIR),
        "KPI_SOURCE_MODE": "replay",
        "KPI_HTTP_BACKOFF_FACTOR": "0",
        "KPI_HTTP_RETRIES": "3",
        "KPI_HTTP_TIMEOUT_SECONDS": "2",
    }
    env.update(overrides)
    return env


def run_job(env: dict[str, str], first_year: int, last_year: int, force: bool = True, instance=None,
            asset_selection=None, job: str = "kpi_full_build", tags: dict[str, str] | None = None):
    """One run of ``job`` over a range of yearly partitions, with ``env`` as settings."""
    import dagster as dg

    from orchestration.cli import partition_range_tags

    with pytest.MonkeyPatch.context() as monkeypatch:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        from orchestration.definitions import defs
        from orchestration.warehouse_lock import release_run_holds

        try:
            return defs.resolve_job_def(job).execute_in_process(
                instance=instance or dg.DagsterInstance.ephemeral(),
                tags=tags or partition_range_tags(first_year, last_year, force),
                asset_selection=asset_selection,
                raise_on_error=False,
            )
        finally:
            release_run_holds()  # as a run's own process would at its end


def all_years() -> tuple[int, int]:
    from orchestration.partitions import YEARLY

    keys = YEARLY.get_partition_keys()
    return int(keys[0]), int(keys[-1])


@pytest.fixture(scope="session")
def built_warehouse(tmp_path_factory):
    """One full build of the bundled snapshot, shared by the integration tests (a build costs a minute).

    Tests that change it must leave it as they found it (a backfill of the same bytes does).
    """
    root = tmp_path_factory.mktemp("built")
    env = warehouse_env(root)
    result = run_job(env, *all_years())
    assert result.success, [event.message for event in result.all_events if event.is_failure]
    # later tests publish again and only the last releases are kept: keep this build's own for them
    from orchestration.publish import current_publication

    publication_id = current_publication(root / "serving")["publication_id"]
    shutil.copytree(root / "serving" / "releases" / publication_id, root / "first_publication")
    return root, env, result


def copy_of_built(built_warehouse, root: Path) -> dict[str, str]:
    """A warehouse and serving directory as the shared full build left them, with a snapshot that
    holds the bundled landings (as links) and room for new releases."""
    built_root, env, _ = built_warehouse
    shutil.copytree(built_root / "warehouse", root / "warehouse")
    shutil.copytree(built_root / "serving", root / "serving", symlinks=True)
    for source_dir in SNAPSHOT_DIR.iterdir():
        if source_dir.is_dir():
            (root / "snapshot" / source_dir.name).mkdir(parents=True)
            for landing in source_dir.iterdir():
                (root / "snapshot" / source_dir.name / landing.name).symlink_to(landing, target_is_directory=True)
    return {**env, "KPI_WAREHOUSE_PATH": str(root / "warehouse" / "kpi.duckdb"), "KPI_SERVING_DIR": str(root / "serving"),
            "KPI_SNAPSHOT_DIR": str(root / "snapshot"), "KPI_LANDING_DIR": str(root / "landing"),
            "KPI_FAILURES_DIR": str(root / "failures")}
