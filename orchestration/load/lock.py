"""One writer at a time on the warehouse, from every entry point.

DuckDB lets one process open a file read-write, and refuses a second one at once; Dagster's
``warehouse_writer`` pool only orders the runs the daemon's queue launches. Every writer
therefore also takes an OS-level lock (``flock``) on ``<warehouse>.writer.lock``, whoever started
it: ``make run/daily/backfill`` (the CLI holds it for its whole run, load and transform), a
``dagster job execute`` or ``dagster asset materialize``, a run launched from the UI or by the
schedule (its first writing step takes it; Dagster's teardown of the run's ``WarehouseResource``
gives it back when the run ends, orchestration/platform/resources.py). A second writer waits,
says who holds the warehouse and since when, and fails after ``KPI_WAREHOUSE_LOCK_TIMEOUT_SECONDS``.
The kernel releases the lock when its process dies, so a killed run never leaves it stale.
Readers of the serving copy never take it: BI tools never open the warehouse.

On PostgreSQL (``KPI_WAREHOUSE=postgres``) the lock is a session-level advisory lock of the
warehouse database instead (``PostgresAdvisoryLock``): writers on different machines exclude each
other, with the same waits, timeout and messages; the holder's record is a row of
``meta.warehouse_writer``; the server releases the lock when the holder's connection ends (its
process died, or the machine). A run of the multiprocess executor holds it in the run's own
process for the whole run (orchestration/platform/executor.py); its steps, in processes of their own, find
their run holding it and go ahead.
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
from typing import Protocol

from orchestration.core.errors import KpiWarehouseError

# PostgreSQL advisory lock keys (class, id) of the warehouse
LOCK_CLASS = 0x4B5049  # "KPI"
LEDGER_LOCK = (LOCK_CLASS, 1)
DDL_LOCK = (LOCK_CLASS, 2)
WRITER_LOCK = (LOCK_CLASS, 3)

POLL_SECONDS = 0.2
REPORT_EVERY_SECONDS = 60.0


class WarehouseBusy(KpiWarehouseError):
    """Another process held the warehouse for longer than the lock timeout."""


class WriterLockLost(KpiWarehouseError):
    """The writer lock this run held is gone (its PostgreSQL session ended, its lock file was
    removed) or the warehouse cannot be reached to confirm it: the run stops before its next write."""


class WriterLock(Protocol):
    """One warehouse's writer lock: try to take it (never blocks), say who holds it, give it back."""

    key: str  # the same for every process that locks the same warehouse
    name: str  # the warehouse, for messages

    def try_acquire(self) -> bool: ...
    def write_holder(self, holder: dict) -> None: ...
    def read_holder(self) -> dict | None: ...
    def holder_if_held(self) -> dict | None: ...
    def lost(self) -> str | None: ...
    def release(self) -> None: ...


@dataclass
class _Held:
    lock: WriterLock
    holder: dict
    depth: int = 0  # nested ``warehouse_writer`` blocks of this process


_held: dict[str, _Held] = {}
_registry_lock = threading.Lock()


def lock_path(warehouse: Path) -> Path:
    return warehouse.with_name(warehouse.name + ".writer.lock")


class FileLock:
    """``flock`` on ``<warehouse>.writer.lock``; the holder's record is the file's content."""

    def __init__(self, warehouse: Path):
        self.warehouse = warehouse.resolve()
        self.path = lock_path(self.warehouse)
        self.key = str(self.path)
        self.name = str(self.warehouse)
        self._fd: int | None = None
        self._locked = False

    def try_acquire(self) -> bool:
        if self._fd is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        self._locked = True
        return True

    def write_holder(self, holder: dict) -> None:
        payload = json.dumps(holder).encode()
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, payload, 0)

    def read_holder(self) -> dict | None:
        return _read_holder(self.path)

    def holder_if_held(self) -> dict | None:
        if not self.path.is_file():
            return None
        fd = os.open(self.path, os.O_RDONLY)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return _read_holder(self.path) or {"what": "unknown writer"}
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None
        finally:
            os.close(fd)

    def lost(self) -> str | None:
        """Why this process no longer holds the lock, or None while it does."""
        if self._fd is None or not self._locked:
            return "this process does not hold it"
        try:
            if os.fstat(self._fd).st_ino != os.stat(self.path).st_ino:
                return f"{self.path} was replaced: another writer can lock the new file"
        except FileNotFoundError:
            return f"{self.path} was removed: another writer can create and lock a new one"
        return None

    def release(self) -> None:
        if self._fd is None:
            return
        try:
            if self._locked:  # the holder's record goes with the lock; another holder's stays
                os.ftruncate(self._fd, 0)
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            os.close(self._fd)
            self._fd, self._locked = None, False


class PostgresAdvisoryLock:
    """A session-level advisory lock of the PostgreSQL warehouse, held by an open connection."""

    HOLDER_TABLE = "meta.warehouse_writer"

    def __init__(self, target):
        self.target = target
        self.lock_key = WRITER_LOCK
        self.key = f"postgres:{target.host}:{target.port}/{target.database}"
        self.name = target.describe()
        self._conn = None

    def _connect(self):
        conn = self.target.connect()
        conn.autocommit = True
        return conn

    def try_acquire(self) -> bool:
        if self._conn is None:
            self._conn = self._connect()
        with self._conn.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", self.lock_key)
            return bool(cursor.fetchone()[0])

    def write_holder(self, holder: dict) -> None:
        # only the lock's holder writes here, so this DDL never races with itself
        with self._conn.cursor() as cursor:
            cursor.execute("CREATE SCHEMA IF NOT EXISTS meta")
            cursor.execute(f"CREATE TABLE IF NOT EXISTS {self.HOLDER_TABLE} (lock_key integer PRIMARY KEY, holder text)")
            cursor.execute(f"INSERT INTO {self.HOLDER_TABLE} VALUES (%s, %s) ON CONFLICT (lock_key) DO UPDATE "
                           "SET holder = excluded.holder", [self.lock_key[1], json.dumps(holder)])

    def read_holder(self) -> dict | None:
        conn = self._connect()
        try:
            with conn.cursor() as cursor:
                cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [self.HOLDER_TABLE])
                if not cursor.fetchone()[0]:
                    return None
                cursor.execute(f"SELECT holder FROM {self.HOLDER_TABLE} WHERE lock_key = %s", [self.lock_key[1]])
                row = cursor.fetchone()
        finally:
            conn.close()
        try:
            return json.loads(row[0]) if row and row[0] else None
        except json.JSONDecodeError:
            return None

    def holder_if_held(self) -> dict | None:
        conn = self._connect()
        try:
            with conn.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = %s "
                               "AND objid = %s AND objsubid = 2 AND database = (SELECT oid FROM pg_database "
                               "WHERE datname = current_database())", self.lock_key)
                held = cursor.fetchone()[0] > 0
        finally:
            conn.close()
        return (self.read_holder() or {"what": "unknown writer"}) if held else None

    def lost(self) -> str | None:
        """Why this process no longer holds the advisory lock (its session was terminated, the
        server went away), or None while it does. The server releases a session's advisory locks
        silently when the session ends, so this asks the session itself."""
        if self._conn is None:
            return "this process does not hold it"
        try:
            with self._conn.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = pg_backend_pid() "
                               "AND classid = %s AND objid = %s AND objsubid = 2", self.lock_key)
                if cursor.fetchone()[0] == 0:
                    return "its PostgreSQL session no longer holds the advisory lock"
        except Exception as exc:  # psycopg2's OperationalError/InterfaceError: the session is gone
            return f"its PostgreSQL session ended ({type(exc).__name__}: {str(exc).strip()[:300]})"
        return None

    def release(self) -> None:
        if self._conn is None:
            return
        try:  # closing the session releases its advisory locks
            self._conn.close()
        finally:
            self._conn = None


def as_lock(warehouse: "Path | WriterLock") -> WriterLock:
    """A warehouse's writer lock: a DuckDB file's path stands for its file lock."""
    return FileLock(warehouse) if isinstance(warehouse, Path) else warehouse


def describe_holder(holder: dict) -> str:
    run = f", run {holder['run_id']}" if holder.get("run_id") else ""
    return f"pid {holder.get('pid')} on {holder.get('host')} ({holder.get('what', 'unknown')}{run}) since {holder.get('since')}"


def current_holder(warehouse: "Path | WriterLock") -> dict | None:
    """Who holds the warehouse now, as its holder wrote it (None when nobody does)."""
    return as_lock(warehouse).holder_if_held()


def _read_holder(path: Path) -> dict | None:
    try:
        text = path.read_text(encoding="utf-8")
        return json.loads(text) if text.strip() else None
    except (OSError, json.JSONDecodeError):
        return None


def _acquire(lock: WriterLock, timeout_seconds: float, holder: dict, log: Callable[[str], None]) -> None:
    started = time.monotonic()
    reported_at = None
    try:
        while not lock.try_acquire():
            waited = time.monotonic() - started
            other = lock.read_holder() or {"what": "unknown writer"}
            if waited >= timeout_seconds:
                raise WarehouseBusy(
                    f"the warehouse {lock.name} is held by {describe_holder(other)}; gave up after waiting "
                    f"{waited:.0f} s (KPI_WAREHOUSE_LOCK_TIMEOUT_SECONDS={timeout_seconds:g}). Nothing was written."
                ) from None
            if reported_at is None or time.monotonic() - reported_at >= REPORT_EVERY_SECONDS:
                log(f"waiting for the warehouse {lock.name}: held by {describe_holder(other)} "
                    f"(waited {waited:.0f} s of at most {timeout_seconds:g} s)")
                reported_at = time.monotonic()
            time.sleep(POLL_SECONDS)
    except BaseException:
        lock.release()
        raise
    lock.write_holder(holder)


def _holder(what: str, run_id: str | None) -> dict:
    return {"pid": os.getpid(), "host": socket.gethostname(), "what": what, "run_id": run_id,
            "since": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "command": " ".join(sys.argv)[:300]}


@contextlib.contextmanager
def warehouse_writer(warehouse: "Path | WriterLock", timeout_seconds: float, what: str, run_id: str | None = None,
                     log: Callable[[str], None] = print) -> Iterator[dict]:
    """Hold the warehouse for the block (re-entrant within this process); yields the holder record.
    ``warehouse``: its writer lock (``Warehouse.writer_lock()``), or a DuckDB file's path."""
    lock = as_lock(warehouse)
    with _registry_lock:
        held = _held.get(lock.key)
    if held is None:
        _acquire(lock, timeout_seconds, _holder(what, run_id), log)
        held = _Held(lock, _holder(what, run_id))
        with _registry_lock:
            _held[lock.key] = held
    held.depth += 1
    try:
        yield held.holder
    finally:
        held.depth -= 1
        if held.depth == 0:
            _release(lock.key)


@contextlib.contextmanager
def holding_for_run(warehouse: "Path | WriterLock", timeout_seconds: float, run_id: str, what: str,
                    log: Callable[[str], None] = print) -> Iterator[dict]:
    """For a Dagster run: hold the warehouse for the block (the run's WarehouseResource opens it at its
    first writing step and closes it when the run ends). Inside an enclosing ``warehouse_writer`` of this
    process (the CLI) it is re-entrant; a step of a multiprocess run finds its run's own process holding
    it (orchestration/platform/executor.py) and goes ahead without taking it."""
    lock = as_lock(warehouse)
    with _registry_lock:
        held_here = lock.key in _held
    if not held_here:
        holder = lock.holder_if_held()
        if holder is not None and holder.get("run_id") == run_id:
            yield holder
            return
    with warehouse_writer(lock, timeout_seconds, what, run_id=run_id, log=log) as holder:
        yield holder


def check_still_writer(warehouse: "Path | WriterLock", run_id: str | None = None) -> None:
    """Before a write: raise WriterLockLost unless this process (or, for a step of a multiprocess run,
    the run ``run_id``) still holds the warehouse's writer lock. A lock lost mid-run (a PostgreSQL
    session terminated from outside, a lock file removed) is noticed here, before anything is written,
    instead of writing on while another writer may have taken it."""
    lock = as_lock(warehouse)
    with _registry_lock:
        held = _held.get(lock.key)
    if held is not None:
        problem = held.lock.lost()
        if problem is None:
            return
    else:
        try:
            holder = lock.holder_if_held()
        except Exception as exc:  # the warehouse cannot be reached: nothing can be written either
            raise WriterLockLost(f"cannot confirm the writer lock on {lock.name} before writing: the warehouse "
                                 f"cannot be reached ({type(exc).__name__}: {str(exc).strip()[:300]}). Stopped before "
                                 "writing; run again when it is back.") from None
        if holder is not None and run_id is not None and holder.get("run_id") == run_id:
            return
        problem = ("nobody holds it now" if holder is None else f"{describe_holder(holder)} holds it now")
    raise WriterLockLost(f"the writer lock on {lock.name} was lost during the run: {problem}. Stopped before the "
                         "next write, so no other writer's work is interleaved with this run's; what this run wrote "
                         "before stays as one whole load each (the next run picks up from there).")


def _release(key: str) -> None:
    with _registry_lock:
        held = _held.pop(key, None)
    if held is not None:
        held.lock.release()
