"""One writer at a time on the warehouse, from every entry point: real processes, a real lock."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from orchestration.publish.publication import current_publication
from orchestration.load.lock import current_holder, warehouse_writer
from tests.conftest import REPO_ROOT, copy_of_built

pytestmark = pytest.mark.integration


def cli(env: dict[str, str], *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "orchestration.cli", *args], cwd=REPO_ROOT, env={**os.environ, **env},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.fixture
def writer_env(built_warehouse, tmp_path) -> dict[str, str]:
    env = copy_of_built(built_warehouse, tmp_path)
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(REPO_ROOT / "dagster.yaml", home / "dagster.yaml")
    return {**env, "DAGSTER_HOME": str(home), "KPI_LOG_DIR": str(tmp_path / "logs")}


def test_a_second_writer_waits_naming_the_holder_then_fails_after_the_timeout(writer_env):
    warehouse = Path(writer_env["KPI_WAREHOUSE_PATH"])
    with warehouse_writer(warehouse, 5, what="a test holding the warehouse"):
        holder = current_holder(warehouse)
        assert holder["pid"] == os.getpid() and holder["what"] == "a test holding the warehouse"
        started = time.monotonic()
        process = cli({**writer_env, "KPI_WAREHOUSE_LOCK_TIMEOUT_SECONDS": "3"}, "daily")
        output, _ = process.communicate(timeout=120)
        waited = time.monotonic() - started
    assert process.returncode == 1, output
    assert f"held by pid {os.getpid()}" in output and "a test holding the warehouse" in output and "since 20" in output
    assert "gave up after waiting 3 s (KPI_WAREHOUSE_LOCK_TIMEOUT_SECONDS=3)" in output
    assert waited < 60
    [record] = [json.loads(path.read_text()) for path in Path(writer_env["KPI_FAILURES_DIR"]).glob("*.json")]
    assert "held by pid" in record["message"]
    assert current_holder(warehouse) is None


def test_a_waiting_writer_runs_once_the_holder_is_done(writer_env):
    warehouse = Path(writer_env["KPI_WAREHOUSE_PATH"])
    release = threading.Event()
    holding = threading.Event()

    def hold():
        with warehouse_writer(warehouse, 5, what="a test holding the warehouse"):
            holding.set()
            release.wait(60)

    holder = threading.Thread(target=hold)
    holder.start()
    holding.wait(10)
    process = cli(writer_env, "daily")
    time.sleep(8)  # the CLI has started and is waiting
    assert process.poll() is None
    release.set()
    holder.join()
    output, _ = process.communicate(timeout=300)
    assert process.returncode == 0, output
    assert "waiting for the warehouse" in output and "a test holding the warehouse" in output


def test_two_real_runs_started_together_write_one_after_the_other(writer_env):
    """A `dagster job execute` backfill and a `make backfill` (the CLI) of the same year at once:
    both succeed, one after the other; the one that waited says whom it waited for."""
    published_before = current_publication(Path(writer_env["KPI_SERVING_DIR"]))["publication_id"]
    tags = json.dumps({"dagster/asset_partition_range_start": "2024", "dagster/asset_partition_range_end": "2024"})
    dagster = subprocess.Popen(
        [str(Path(sys.executable).with_name("dagster")), "job", "execute", "-m", "orchestration.definitions",
         "-j", "kpi_full_build", "--tags", tags],
        cwd=REPO_ROOT, env={**os.environ, **writer_env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    backfill = cli(writer_env, "backfill", "--from", "2024", "--to", "2024")
    dagster_output, _ = dagster.communicate(timeout=600)
    cli_output, _ = backfill.communicate(timeout=600)
    assert dagster.returncode == 0, dagster_output[-3000:]
    assert backfill.returncode == 0, cli_output[-3000:]
    waited = [output for output in (dagster_output, cli_output) if "waiting for the warehouse" in output]
    assert len(waited) == 1, "exactly one of the two runs waited for the other"
    assert "held by pid" in waited[0]
    assert "Could not set lock" not in dagster_output + cli_output  # DuckDB never refused a second writer
    assert current_publication(Path(writer_env["KPI_SERVING_DIR"]))["publication_id"] != published_before
