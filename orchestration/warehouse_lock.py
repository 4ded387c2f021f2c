"""One writer at a time on the DuckDB warehouse, from every entry point.

DuckDB lets one process open a file read-write, and refuses a second one at once; Dagster's
``duckdb_warehouse_writer`` pool only orders the runs the daemon's queue launches. Every writer
therefore also takes an OS-level lock (``flock``) on ``<warehouse>.writer.lock``, whoever started
it: ``make run/daily/backfill`` (the CLI holds it for its whole run, load and transform), a
``dagster job execute`` or ``dagster asset materialize``, a run launched from the UI or by the
schedule (its steps take it; the run's process holds it until it ends). A second writer waits,
says who holds the warehouse and since when, and fails after ``KPI_WAREHOUSE_LOCK_TIMEOUT_SECONDS``.
The kernel releases the lock when its process dies, so a killed run never leaves it stale.
Readers of the serving copy never take it: BI tools never open the warehouse.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from orchestration.errors import KpiWarehouseError

POLL_SECONDS = 0.2
REPORT_EVERY_SECONDS = 60.0


class WarehouseBusy(KpiWarehouseError):
    """Another process held the warehouse for longer than the lock timeout."""


@dataclass
class _Held:
    fd: int
    holder: dict
    depth: int = 0  # nested ``warehouse_writer`` blocks of this process
    run_id: str | None = None  # the run whose steps took it (None: held by an enclosing block)


_held: dict[Path, _Held] = {}
_registry_lock = threading.Lock()


def lock_path(warehouse: Path) -> Path:
    return warehouse.with_name(warehouse.name + ".writer.lock")


def describe_holder(holder: dict) -> str:
    run = f", run {holder['run_id']}" if holder.get("run_id") else ""
    return f"pid {holder.get('pid')} on {holder.get('host')} ({holder.get('what', 'unknown')}{run}) since {holder.get('since')}"


def current_holder(warehouse: Path) -> dict | None:
    """Who holds the warehouse now, as its holder wrote it (None when nobody does)."""
    path = lock_path(warehouse)
    if not path.is_file():
        return None
    fd = os.open(path, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_holder(path) or {"what": "unknown writer"}
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def _read_holder(path: Path) -> dict | None:
    try:
        text = path.read_text(encoding="utf-8")
        return json.loads(text) if text.strip() else None
    except (OSError, json.JSONDecodeError):
        return None


def _acquire(warehouse: Path, timeout_seconds: float, holder: dict, log: Callable[[str], None]) -> int:
    path = lock_path(warehouse)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    started = time.monotonic()
    reported_at = None
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                waited = time.monotonic() - started
                other = _read_holder(path) or {"what": "unknown writer"}
                if waited >= timeout_seconds:
                    raise WarehouseBusy(
                        f"the warehouse {warehouse} is held by {describe_holder(other)}; gave up after waiting "
                        f"{waited:.0f} s (KPI_WAREHOUSE_LOCK_TIMEOUT_SECONDS={timeout_seconds:g}). Nothing was written."
                    ) from None
                if reported_at is None or time.monotonic() - reported_at >= REPORT_EVERY_SECONDS:
                    log(f"waiting for the warehouse {warehouse}: held by {describe_holder(other)} "
                        f"(waited {waited:.0f} s of at most {timeout_seconds:g} s)")
                    reported_at = time.monotonic()
                time.sleep(POLL_SECONDS)
    except BaseException:
        os.close(fd)
        raise
    _write_holder(fd, holder)
    return fd


def _write_holder(fd: int, holder: dict) -> None:
    payload = json.dumps(holder).encode()
    os.ftruncate(fd, 0)
    os.pwrite(fd, payload, 0)


def _holder(what: str, run_id: str | None) -> dict:
    return {"pid": os.getpid(), "host": socket.gethostname(), "what": what, "run_id": run_id,
            "since": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "command": " ".join(sys.argv)[:300]}


@contextlib.contextmanager
def warehouse_writer(warehouse: Path, timeout_seconds: float, what: str, run_id: str | None = None,
                     log: Callable[[str], None] = print) -> Iterator[dict]:
    """Hold the warehouse for the block (re-entrant within this process); yields the holder record."""
    key = warehouse.resolve()
    with _registry_lock:
        held = _held.get(key)
    if held is None:
        fd = _acquire(key, timeout_seconds, _holder(what, run_id), log)
        held = _Held(fd, _holder(what, run_id))
        with _registry_lock:
            _held[key] = held
    held.depth += 1
    try:
        yield held.holder
    finally:
        held.depth -= 1
        if held.depth == 0 and held.run_id is None:
            _release(key)


def hold_for_run(warehouse: Path, timeout_seconds: float, run_id: str, what: str,
                 log: Callable[[str], None] = print) -> None:
    """For a writing step of a Dagster run: hold the warehouse until this process ends or runs
    another run, so the run's steps (load, dbt, publish) are one writer from first to last.

    A run launched by the daemon or the UI has a process of its own, which ends with the run; a
    run executed in-process inside a ``warehouse_writer`` block (the CLI) finds the lock held.
    """
    key = warehouse.resolve()
    with _registry_lock:
        held = _held.get(key)
    if held is not None:
        if held.depth == 0 and held.run_id != run_id:
            # runs of one process are sequential: the previous run is over, this one takes it over
            held.run_id = run_id
            held.holder = _holder(what, run_id)
            _write_holder(held.fd, held.holder)
        return
    fd = _acquire(key, timeout_seconds, _holder(what, run_id), log)
    with _registry_lock:
        _held[key] = _Held(fd, _holder(what, run_id), run_id=run_id)


def release_run_holds() -> None:
    """Release every lock a run's steps took in this process (tests that run jobs in-process)."""
    with _registry_lock:
        keys = [key for key, held in _held.items() if held.depth == 0]
    for key in keys:
        _release(key)


def _release(key: Path) -> None:
    with _registry_lock:
        held = _held.pop(key, None)
    if held is None:
        return
    try:
        os.ftruncate(held.fd, 0)
        fcntl.flock(held.fd, fcntl.LOCK_UN)
    finally:
        os.close(held.fd)
