"""Our own infrastructure may fail too (issue 24): the PostgreSQL writer lock is a session advisory
lock, which the server releases silently when the session ends. A run notices a lost lock (its
session terminated from outside with ``pg_terminate_backend``) or an unreachable warehouse, and
stops before its next write, saying why. Real PostgreSQL 15 (tests/pg.py)."""

from __future__ import annotations

import dataclasses

import pytest

from orchestration.config import load_settings
from orchestration.load.engines import warehouse_for
from orchestration.load.lock import WRITER_LOCK, WriterLockLost, check_still_writer, current_holder, warehouse_writer
from orchestration.load.step import run_load
from orchestration.sources import worldbank
from tests.conftest import warehouse_env
from tests.pg import free_port, running_cluster

pytestmark = pytest.mark.integration

YEARS = (2000, 2025)


@pytest.fixture(scope="module")
def cluster():
    with running_cluster() as cluster:
        yield cluster


def _settings(cluster, tmp_path):
    return load_settings(warehouse_env(tmp_path, KPI_WAREHOUSE="postgres", KPI_COUNTRIES="HND", **cluster.env()))


def _terminate_the_lock_session(cluster) -> int:
    """From outside, as an operator or a failover would: end the session that holds the writer lock."""
    conn = cluster.connect()
    try:
        conn.autocommit = True
        with conn.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                           "AND classid = %s AND objid = %s AND objsubid = 2", WRITER_LOCK)
            return len(cursor.fetchall())
    finally:
        conn.close()


def test_a_terminated_lock_session_stops_the_load_before_it_writes(cluster, tmp_path):
    settings = _settings(cluster, tmp_path)
    warehouse = warehouse_for(settings)
    lock = warehouse.writer_lock()
    terminated = []

    def parse_then_lose_the_lock(landings, settings_):
        frames = worldbank.SPEC.parse(landings, settings_)
        terminated.append(_terminate_the_lock_session(cluster))  # between taking the lock and writing
        return frames

    with warehouse_writer(lock, 10, what="test run", run_id="run-1"):
        assert current_holder(lock)["what"] == "test run"
        with pytest.raises(WriterLockLost) as lost:
            run_load(worldbank.SPEC, settings, YEARS, forced=True, published_seq=0, run_id="run-1", log=lambda message: None,
                     parse=parse_then_lose_the_lock, before_write=lambda: check_still_writer(lock, "run-1"))
    assert terminated == [1]
    message = str(lost.value)
    assert f"the writer lock on {lock.name} was lost during the run" in message, message
    assert "its PostgreSQL session ended" in message and "Stopped before the next write" in message, message
    assert warehouse.load_history("worldbank") == []  # nothing was written
    assert current_holder(lock) is None  # and nobody holds it: the next run can start


def test_without_the_fault_the_same_load_writes(cluster, tmp_path):
    settings = _settings(cluster, tmp_path)
    warehouse = warehouse_for(settings)
    lock = warehouse.writer_lock()
    with warehouse_writer(lock, 10, what="test run", run_id="run-2"):
        outcome = run_load(worldbank.SPEC, settings, YEARS, forced=True, published_seq=0, run_id="run-2",
                           log=lambda message: None, before_write=lambda: check_still_writer(lock, "run-2"))
    assert not outcome.failed and outcome.load_id
    assert [record.load_id for record in warehouse.load_history("worldbank")] == [outcome.load_id]


def test_a_step_of_another_process_finds_its_run_no_longer_holding_the_lock(cluster, tmp_path):
    """A step of a multiprocess run does not hold the lock itself: its run's process does. Once that
    session is gone, the step's check finds nobody holding it for its run."""
    settings = _settings(cluster, tmp_path)
    lock = warehouse_for(settings).writer_lock()
    holder = warehouse_for(settings).writer_lock()  # the run's process, as another connection
    assert holder.try_acquire()
    holder.write_holder({"pid": 1, "host": "run-process", "what": "Dagster run of kpi_load", "run_id": "run-3"})
    try:
        check_still_writer(lock, "run-3")  # the run holds it: the step may write
        assert _terminate_the_lock_session(cluster) == 1
        with pytest.raises(WriterLockLost, match="was lost during the run: nobody holds it now"):
            check_still_writer(lock, "run-3")
    finally:
        holder.release()


def test_an_unreachable_warehouse_stops_the_run_before_it_writes(cluster, tmp_path):
    settings = _settings(cluster, tmp_path)
    gone = dataclasses.replace(settings, postgres=dataclasses.replace(settings.postgres, port=free_port()))
    with pytest.raises(WriterLockLost, match=r"cannot confirm the writer lock on .* before writing: the warehouse cannot be reached"):
        check_still_writer(warehouse_for(gone).writer_lock(), "run-4")
