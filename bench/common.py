"""Helpers shared by the benchmarks in bench/: paths, the pipeline's environment, work directories,
and measuring a child process (wall seconds, peak memory).

Nothing here is run on its own; see bench/floor.py and bench/scale.py.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

PROJECT_ROOT = Path(__file__).resolve().parent.parent
VENV_PYTHON = PROJECT_ROOT / ".venv" / "bin" / "python"
GNU_TIME = Path("/usr/bin/time")
WORK_DIR_ENV = "BENCH_WORK_DIR"


def python_executable() -> str:
    """The project's virtual environment, whatever interpreter started the benchmark."""
    return str(VENV_PYTHON) if VENV_PYTHON.exists() else sys.executable


def pipeline_env(snapshot_dir: Path, work_dir: Path, countries: tuple[str, ...] | None = None,
                 warehouse_path: Path | None = None) -> dict[str, str]:
    """KPI_* variables that point every path of the pipeline into ``work_dir`` (replay of ``snapshot_dir``)."""
    env = {
        "KPI_SOURCE_MODE": "replay",
        "KPI_SNAPSHOT_DIR": str(snapshot_dir),
        "KPI_WAREHOUSE_PATH": str(warehouse_path or work_dir / "warehouse" / "kpi.duckdb"),
        "KPI_SERVING_DIR": str(work_dir / "serving"),
        "KPI_LANDING_DIR": str(work_dir / "landing"),
        "KPI_LOG_DIR": str(work_dir / "logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    if countries:
        env["KPI_COUNTRIES"] = ",".join(countries)
    return env


@contextlib.contextmanager
def work_root(prefix: str) -> Iterator[Path]:
    """A temporary directory (under $BENCH_WORK_DIR when set), removed afterwards whatever happens."""
    parent = os.environ.get(WORK_DIR_ENV) or None
    if parent:
        Path(parent).mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


@dataclass
class Measured:
    """A finished child process: its exit code, wall seconds, peak memory and output."""

    returncode: int
    seconds: float
    # the largest single process of the tree (GNU time's %M: the kernel's exact high-water mark)
    peak_rss_mb: float | None
    # the whole tree at once (sampled every SAMPLE_SECONDS, so a short spike can be missed)
    peak_tree_rss_mb: float | None
    stdout: str
    stderr: str


SAMPLE_SECONDS = 0.25


def _children_of() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                # the command name is in parentheses and may hold spaces: the parent pid follows the last ")"
                parent = int(handle.read().rsplit(b")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry.name))
    return children


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", "rb") as handle:
            for line in handle:
                if line.startswith(b"VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_rss_mb(root_pid: int) -> float:
    """Resident memory of a process and all its descendants right now, in MB."""
    children, total, stack = _children_of(), 0, [root_pid]
    while stack:
        pid = stack.pop()
        total += _rss_kb(pid)
        stack.extend(children.get(pid, ()))
    return total / 1024


def run_measured(command: list[str], env: dict[str, str], cwd: Path = PROJECT_ROOT,
                 timeout: float | None = None) -> Measured:
    """Run ``command`` to completion, measuring wall time and peak memory of its process tree."""
    with tempfile.NamedTemporaryFile("r", suffix=".maxrss") as maxrss_file:
        wrapped = [str(GNU_TIME), "-q", "-f", "%M", "-o", maxrss_file.name, *command] if GNU_TIME.exists() else command
        started = time.perf_counter()
        # its own process group, so that a timeout stops exactly the tree this call started
        process = subprocess.Popen(wrapped, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   start_new_session=True)
        peak_tree = [0.0]
        done = threading.Event()

        def sample() -> None:
            while not done.wait(SAMPLE_SECONDS):
                peak_tree[0] = max(peak_tree[0], tree_rss_mb(process.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        finally:
            done.set()
            sampler.join()
            if process.poll() is None:  # timed out (or interrupted)
                os.killpg(process.pid, signal.SIGKILL)
                process.communicate()
        seconds = time.perf_counter() - started
        text = maxrss_file.read().strip()
    peak = int(text.splitlines()[-1]) / 1024 if text and text.splitlines()[-1].isdigit() else None
    return Measured(process.returncode, seconds, peak, peak_tree[0] or None, stdout, stderr)


def run_cli(snapshot_dir: Path, work_dir: Path, command: tuple[str, ...] | list[str],
            countries: tuple[str, ...] | None = None, timeout: float | None = None) -> Measured:
    """``python -m orchestration.cli <command>`` as a user runs it, replaying ``snapshot_dir``, with
    every path (and DAGSTER_HOME) under ``work_dir``."""
    work_dir.mkdir(parents=True, exist_ok=True)
    # the caller's own KPI_*/DAGSTER_* settings must not leak into a measured run
    env = {key: value for key, value in os.environ.items() if not key.startswith(("KPI_", "DAGSTER_"))}
    env.update(pipeline_env(snapshot_dir, work_dir, countries), DAGSTER_HOME=str(work_dir / "dagster_home"))
    return run_measured([python_executable(), "-m", "orchestration.cli", *command], env, timeout=timeout)


def rate(rows: int, seconds: float) -> float | None:
    return rows / seconds if seconds else None


def print_rows(header: list[str], rows: list[list]) -> None:
    """A plain aligned table (numbers right-aligned) for the scripts' own output."""
    def cell(value) -> str:
        if value is None:
            return "-"
        if isinstance(value, float):
            return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"
        if isinstance(value, int):
            return f"{value:,}"
        return str(value)

    table = [header, *[[cell(value) for value in row] for row in rows]]
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    for line in table:
        print("  ".join(text.rjust(width) if index else text.ljust(width) for index, (text, width) in enumerate(zip(line, widths))))
