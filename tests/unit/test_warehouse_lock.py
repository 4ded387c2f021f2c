"""The writer lock itself, in one process and across two: who holds it, re-entrance, timeouts."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from orchestration.load.lock import (
    WarehouseBusy, current_holder, describe_holder, holding_for_run, warehouse_writer,
)

HOLD_IN_ANOTHER_PROCESS = """
import sys, time
from pathlib import Path
from orchestration.load.lock import warehouse_writer
with warehouse_writer(Path(sys.argv[1]), 5, what="the other process"):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def test_a_block_holds_the_warehouse_and_is_re_entrant(tmp_path):
    warehouse = tmp_path / "kpi.duckdb"
    assert current_holder(warehouse) is None
    with warehouse_writer(warehouse, 1, what="outer") as holder:
        with warehouse_writer(warehouse, 1, what="inner"):  # the same process: no wait, no deadlock
            assert current_holder(warehouse)["what"] == "outer"
        with holding_for_run(warehouse, 1, run_id="run-1", what="a step"):  # a run inside the CLI's block
            assert current_holder(warehouse)["what"] == "outer"
        assert holder["pid"] == os.getpid()
    assert current_holder(warehouse) is None


def test_a_run_holds_it_for_its_block_and_gives_it_back(tmp_path):
    warehouse = tmp_path / "kpi.duckdb"
    with holding_for_run(warehouse, 1, run_id="run-1", what="first run"):
        assert current_holder(warehouse)["run_id"] == "run-1"
    assert current_holder(warehouse) is None  # the run ended: nothing of it stays held in the process
    with holding_for_run(warehouse, 1, run_id="run-2", what="second run"):
        assert current_holder(warehouse)["run_id"] == "run-2"
    assert current_holder(warehouse) is None


def test_another_process_waits_then_gives_up_naming_the_holder(tmp_path):
    warehouse = tmp_path / "kpi.duckdb"
    other = subprocess.Popen([sys.executable, "-c", HOLD_IN_ANOTHER_PROCESS, str(warehouse), "30"],
                             stdout=subprocess.PIPE, text=True, cwd=os.getcwd())
    try:
        assert other.stdout.readline().strip() == "held"
        holder = current_holder(warehouse)
        assert holder["pid"] == other.pid and "the other process" in describe_holder(holder)
        waited = []
        started = time.monotonic()
        with pytest.raises(WarehouseBusy, match=rf"held by pid {other.pid} .*the other process.* since .*gave up after waiting 1 s"):
            with warehouse_writer(warehouse, 1, what="this test", log=waited.append):
                pass
        assert time.monotonic() - started < 10
        assert waited and "waiting for the warehouse" in waited[0]
    finally:
        other.kill()
        other.wait()
    with warehouse_writer(warehouse, 5, what="this test"):  # the kernel released the killed holder's lock
        assert current_holder(warehouse)["what"] == "this test"
