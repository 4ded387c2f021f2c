"""Shared by the serving tests and bench/bi_latency.py: publishing runs, and reader processes.

The full build they work on is conftest's session fixture ``built_warehouse``.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path


@contextlib.contextmanager
def environment(env: dict[str, str]):
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def run_publish(env: dict[str, str]):
    """One Dagster run of the publishing assets only (serving/kpi_marts, serving/kpi_report) on a built warehouse."""
    import dagster as dg

    from orchestration.definitions import build_definitions
    from orchestration.platform.resources import resources_from_mapping

    return build_definitions(resources_from_mapping(env)).resolve_job_def("kpi_full_build").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), raise_on_error=False,
        asset_selection=[dg.AssetKey(["serving", "kpi_marts"]), dg.AssetKey(["serving", "kpi_report"])],
    )


# --- reader processes ------------------------------------------------------------------------------

READER_SCRIPT = r"""
import json, os, sys, time
import duckdb

serving_file, stop_file, out_file, max_seconds = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
answers, errors = [], []
deadline = time.monotonic() + max_seconds
stopping = False
with open(out_file + ".ready", "w") as ready:
    ready.write("ready")
while True:
    stopping = os.path.exists(stop_file) or time.monotonic() > deadline
    try:
        with duckdb.connect(serving_file, read_only=True) as conn:
            publication_id = conn.execute("select publication_id from marts.publication").fetchone()[0]
            rows, checksum = conn.execute(
                "select count(*), sum(hash(country_iso3, kpi_id, year, value, source_vintage)) from marts.kpi_annual"
            ).fetchone()
        answers.append([publication_id, rows, str(checksum)])
    except Exception as exc:
        errors.append(f"{type(exc).__name__}: {exc}")
    if stopping:
        break
with open(out_file, "w") as out:
    json.dump({"answers": answers, "errors": errors}, out)
"""


def start_readers(serving_file: Path, workdir: Path, count: int, max_seconds: float = 300.0) -> tuple[list, Path]:
    """Reader processes that each query the serving copy in a loop until ``stop`` exists (or max_seconds)."""
    stop = workdir / "stop"
    script = workdir / "reader.py"
    script.write_text(READER_SCRIPT)
    processes = []
    for i in range(count):
        out = workdir / f"reader-{i}.json"
        processes.append((subprocess.Popen([sys.executable, str(script), str(serving_file), str(stop), str(out), str(max_seconds)],
                                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True), out))
    for process, out in processes:  # every reader is running before the publishing starts
        ready = Path(str(out) + ".ready")
        while not ready.exists():
            if process.poll() is not None:
                raise AssertionError(f"reader exited early: {process.stderr.read()}")
            time.sleep(0.05)
    return processes, stop


def stop_readers(processes: list, stop: Path) -> list[dict]:
    stop.write_text("stop")
    results = []
    for process, out in processes:
        _, stderr = process.communicate(timeout=120)
        if process.returncode != 0:
            raise AssertionError(f"reader failed: {stderr}")
        results.append(json.loads(out.read_text()))
    return results
