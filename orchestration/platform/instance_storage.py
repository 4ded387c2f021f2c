"""The Dagster instance's SQLite storage, with one connection pool per database file.

Dagster's default SQLite event log creates a new SQLAlchemy engine, and opens and closes a new
SQLite connection, for every statement it writes; a full build writes about 1,300 events (one
materialization per asset and year, one evaluation per check, and their planned events), at
about 20 ms each on this machine. Keeping one engine per file, with its connections pooled,
brings that to about 8 ms (measured by ``bench/dagster_events.py``). Same files, same schema, same
durability (SQLite's defaults); only the connection handling differs, so an instance can switch
between this and Dagster's ``storage: sqlite`` either way.

Configured in ``dagster.yaml`` as ``storage: custom: {module: orchestration.platform.instance_storage,
class: PooledSqliteStorage, config: {base_dir: ...}}``.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

from orchestration.platform.dagster_internals import (
    INDEX_SHARD_NAME,
    SQLITE_BUSY_TIMEOUT_SECONDS,
    DagsterSqliteStorage,
    SqliteEventLogStorage,
    SqliteRunStorage,
    SqliteScheduleStorage,
    _event_logs_directory,
    _runs_directory,
    _schedule_directory,
    mkdir_p,
)
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection, Engine


EVENT_BATCH_SIZE_ENV = "DAGSTER_EVENT_BATCH_SIZE"
EVENT_BATCH_SIZE = 1000


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """Dagster's run-sharded SQLite event log, with one pooled engine per shard (database file)."""

    # the index plus the runs being written or read now; a webserver browsing old runs must not
    # keep a file open for each of them
    MAX_POOLED_SHARDS = 8

    def __init__(self, base_dir: str, inst_data=None):
        # set before the parent's __init__, which already connects (schema checks)
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._engines_lock = threading.Lock()
        self._batch = threading.local()  # the open connections of the batch this thread is writing
        self._schema_present: set[tuple[str, ...]] = set()  # see has_table
        super().__init__(base_dir, inst_data=inst_data)
        # Dagster hands a step's batch of events (the run's planned materializations and checks, a
        # partition range's materializations) to store_event_batch only when this is set.
        os.environ.setdefault(EVENT_BATCH_SIZE_ENV, str(EVENT_BATCH_SIZE))

    def _engine(self, shard: str) -> Engine:
        evicted = None
        with self._engines_lock:
            engine = self._engines.get(shard)
            if engine is None:
                engine = create_engine(self.conn_string_for_shard(shard), pool_size=1, max_overflow=4,
                                       connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS})
                self._engines[shard] = engine
                if len(self._engines) > self.MAX_POOLED_SHARDS:
                    _, evicted = self._engines.popitem(last=False)
            self._engines.move_to_end(shard)
        if evicted is not None:
            evicted.dispose()  # connections checked out now stay valid until returned
        return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        batch = getattr(self._batch, "connections", None)
        if batch is not None:  # inside store_event_batch: one connection and transaction per file
            if shard not in batch:
                engine = self._engine(shard)
                if shard not in self._initialized_dbs:
                    self._initdb(engine)
                    self._initialized_dbs.add(shard)
                connection = engine.connect()
                batch[shard] = (connection, connection.begin())
            yield batch[shard][0]
            return
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def store_event_batch(self, events) -> None:
        """Store ``events`` as ``store_event`` does, each database file written in ONE transaction
        (commit and fsync once per file, not two or three times per event). Dagster batches a run's
        planned materializations and checks and a partition range's materializations, most of a full
        build's ~1,400 events. Measured on this machine (16 assets x 28 yearly partitions with
        checks, 969 events, three runs each): 2.7-3.8 ms an event one by one, 1.7-2.1 ms batched,
        so about 1.5-2 s of a full build. Either every event of the batch is stored or none is.

        Relies on Dagster's private layout of ``SqliteEventLogStorage.store_event`` (it reaches the
        files only through ``run_connection``/``index_connection``, which come here to ``_connect``);
        tests/unit/test_instance_storage.py fails if an upgrade changes what a batch stores."""
        with self._db_lock:
            self._batch.connections = connections = {}
            try:
                for event in events:
                    self.store_event(event)
                for _, transaction in connections.values():
                    transaction.commit()
            except BaseException:
                for _, transaction in connections.values():
                    if transaction.is_active:
                        transaction.rollback()
                raise
            finally:
                self._batch.connections = None
                for connection, _ in connections.values():
                    connection.close()

    # Before it writes each asset event and each check evaluation, Dagster asks whether a table (or the
    # asset key table's index column) exists, by inspecting the index file's schema, has_table with a new
    # engine and connection every time: about 1,000 schema reads in a full build. A migration adds a table
    # or column and nothing drops one while the instance is up, so a "present" is kept; an "absent" is
    # asked again (a migration may run meanwhile). tests/unit/test_instance_storage.py checks both.
    # ``bench/framework_internals.py --skip dagster --skip dbt``: a run of 100 partitions with a check,
    # 1.50 s against 1.59 s asked every time (medians of 5, 2026-12-06), about 0.5 ms a question saved.
    def has_table(self, table_name: str) -> bool:
        if ("table", table_name) in self._schema_present:
            return True
        with self._engine(INDEX_SHARD_NAME).connect() as conn:
            present = bool(conn.dialect.has_table(conn, table_name))
        if present:
            self._schema_present.add(("table", table_name))
        return present

    def _has_asset_key_col_on_connection(self, conn: Connection, column_name: str) -> bool:
        if ("asset_keys column", column_name) in self._schema_present:
            return True
        present = super()._has_asset_key_col_on_connection(conn, column_name)
        if present:
            self._schema_present.add(("asset_keys column", column_name))
        return present

    def delete_events(self, run_id: str) -> None:
        # a deleted run is never written again: release its pooled connection (an open file handle)
        super().delete_events(run_id)
        with self._engines_lock:
            engine = self._engines.pop(run_id, None)
        if engine is not None:
            engine.dispose()

    def dispose(self) -> None:
        with self._engines_lock:
            engines, self._engines = list(self._engines.values()), {}
        for engine in engines:
            engine.dispose()
        super().dispose()


class PooledSqliteStorage(DagsterSqliteStorage):
    """``storage: sqlite`` with the pooled event log; runs and schedules as Dagster stores them."""

    def __init__(self, base_dir: str, inst_data=None):
        self.base_dir = base_dir
        self._run_storage = SqliteRunStorage.from_local(_runs_directory(base_dir))
        self._event_log_storage = PooledSqliteEventLogStorage(_event_logs_directory(base_dir))
        self._schedule_storage = SqliteScheduleStorage.from_local(_schedule_directory(base_dir))
        self._inst_data = inst_data
        super(DagsterSqliteStorage, self).__init__()  # DagsterSqliteStorage's own __init__ builds the default event log

    @classmethod
    def from_config_value(cls, inst_data, config_value) -> PooledSqliteStorage:
        mkdir_p(config_value["base_dir"])
        return cls(config_value["base_dir"], inst_data=inst_data)
