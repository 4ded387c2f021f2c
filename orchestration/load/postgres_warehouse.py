"""The PostgreSQL warehouse (``KPI_WAREHOUSE=postgres``): the DuckDB warehouse's tables and semantics
in a PostgreSQL database (``KPI_PG_*``), so that runs on several machines share one warehouse.

The same as on DuckDB (the SQL text is shared with orchestration/load/warehouse.py): raw tables with
every vintage, each source's load in ONE transaction that replaces exactly the rows of its keys and
years, the ledger ``raw.load_ledger`` with ``load_seq``, ``meta.transform_builds``. What differs:

- rows arrive by COPY (bulk), as CSV written by DuckDB from the load's DataFrames, so the column
  types are the ones the DuckDB warehouse would give them (``postgres.postgres_type``);
- several processes may load sources at once (the multiprocess executor does): each load's ledger
  row is inserted under a transaction-level advisory lock held until commit, so load numbers are
  unique, without gaps, and in commit order; a reader that sees load N sees every load before it.
  DDL (a new raw table, the ledger) runs apart, first, under another advisory lock: PostgreSQL's
  ``CREATE ... IF NOT EXISTS`` is not safe against a concurrent twin;
- the writer lock between runs is a PostgreSQL advisory lock (``warehouse_lock.PostgresAdvisoryLock``),
  so writers on different machines exclude each other.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb
import pandas as pd

from orchestration.core.postgres import PostgresTarget, _quote, copy_query_out, copy_relation_in, postgres_type
from orchestration.load.raw_schema import create_table_sql, declared_columns
from orchestration.core.sql import identifier, pyformat
from orchestration.load.lock import DDL_LOCK, LEDGER_LOCK, WRITER_LOCK  # noqa: F401
from orchestration.load.warehouse import (
    ATTEMPT_INSERT_SQL, ATTEMPTS_SINCE_SQL, ATTEMPTS_TABLE, LAST_LOAD_SEQ_SQL, LAST_TRANSFORM_SQL, LEDGER_INSERT_SQL,
    LEDGER_TABLE, LOAD_HISTORY_SQL, META_SCHEMA, RAW_SCHEMA, SOURCE_CONTRACTS_DDL, SOURCE_CONTRACTS_INSERT_SQL,
    SOURCE_CONTRACTS_TABLE, STATE_INSERT_SQL, STATE_SQL, STATES_PRUNE_SQL, STATES_TABLE, TABLE_EXISTS_SQL,
    TRANSFORM_INSERT_SQL, TRANSFORM_META_DDL, TRANSFORM_TABLE, TransformAttempt, LoadRecord, RawLoad, _records,
    attempt_records, attempt_row, delete_replaced_sql, history_sql, ledger_ddl, ledger_row, raw_table_names,
    transform_record, transform_row,
)

# advisory lock keys (two 32-bit ints: this application's class, then the lock)


def raw_column_type(duckdb_type_name: str) -> str:
    """The PostgreSQL type of a new raw table's column, from the DuckDB type of the load's DataFrame.
    A column with no value at all in the first load (DuckDB's type "NULL") becomes text, which holds
    whatever a later release puts there."""
    return "text" if duckdb_type_name.strip('"').upper() == "NULL" else postgres_type(duckdb_type_name)


@dataclass(frozen=True)
class PostgresWarehouse:
    target: PostgresTarget
    engine: str = "postgres"
    concurrent_writers: bool = True

    def describe(self) -> str:
        return self.target.describe()

    def writer_lock(self):
        from orchestration.load.lock import PostgresAdvisoryLock

        return PostgresAdvisoryLock(self.target)

    def _transaction(self, isolation: str | None = None):
        return self.target.transaction(isolation)

    def _exists(self, cursor, schema: str, table: str) -> bool:
        cursor.execute(pyformat(TABLE_EXISTS_SQL), [schema, table])
        return bool(cursor.fetchone()[0])

    def _ddl(self, statements: list[str]) -> None:
        """DDL in a transaction of its own, one process at a time."""
        with self._transaction() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", DDL_LOCK)
            for statement in statements:
                cursor.execute(statement)

    def load_source(self, source: str, loads: list[RawLoad], years: tuple[int, int], load_id: str, fingerprint: str,
                    releases: tuple[str, ...] = (), whole_release: bool = False, run_id: str | None = None) -> dict[str, dict]:
        """As ``warehouse.load_source``: every table of the source and its ledger row, in ONE transaction."""
        loaded_at = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        with duckdb.connect() as duck:
            batches = {}
            for index, load in enumerate(loads):
                for column in load.frame.columns:
                    identifier(column)
                name = f"batch_{index}"
                duck.register(name, load.frame.assign(load_id=load_id, loaded_at=loaded_at))
                batches[load.table] = (name, duck.execute(f"DESCRIBE SELECT * FROM {name}").fetchall())
            existing = self._raw_tables()
            tables = [  # a new raw table: its declared schema (raw_schema.py), else its first frame's types
                create_table_sql(table, "", postgres_type) if declared_columns(table) is not None else
                f"CREATE TABLE IF NOT EXISTS {RAW_SCHEMA}.{identifier(table)} ("
                + ", ".join(f"{identifier(column[0])} {raw_column_type(column[1])}" for column in described) + ")"
                for table, (_, described) in batches.items() if table not in existing
            ]
            self._ddl([f"CREATE SCHEMA IF NOT EXISTS {RAW_SCHEMA}", ledger_ddl(), *tables])
            with self._transaction() as cursor:
                counts = {load.table: self._replace_rows(cursor, duck, load, batches[load.table], years) for load in loads}
                # numbers in commit order: the lock is held until this transaction ends
                cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", LEDGER_LOCK)
                cursor.execute(pyformat(LEDGER_INSERT_SQL),
                               ledger_row(source, fingerprint, years, load_id, loaded_at, releases, whole_release, run_id))
        return counts

    def _raw_tables(self) -> set[str]:
        with self._transaction() as cursor:
            cursor.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s", [RAW_SCHEMA])
            return {row[0] for row in cursor.fetchall()}

    @staticmethod
    def _replace_rows(cursor, duck: duckdb.DuckDBPyConnection, load: RawLoad, batch: tuple[str, list],
                      years: tuple[int, int]) -> dict:
        relation, described = batch
        qualified = f"{RAW_SCHEMA}.{identifier(load.table)}"
        incoming = f"incoming_{load.table}"
        cursor.execute(f"CREATE TEMPORARY TABLE {identifier(incoming)} (LIKE {qualified}) ON COMMIT DROP")
        columns = [column[0] for column in described]
        copy_relation_in(duck, relation, cursor, identifier(incoming), columns)
        cursor.execute(pyformat(delete_replaced_sql(load, incoming)), list(years) if load.year_column else [])
        deleted = cursor.rowcount
        column_sql = ", ".join(identifier(column) for column in columns)
        cursor.execute(f"INSERT INTO {qualified} ({column_sql}) SELECT {column_sql} FROM {identifier(incoming)}")
        cursor.execute(f"SELECT count(*) FROM {qualified}")
        return {"rows_loaded": len(load.frame), "rows_replaced": int(deleted), "rows_in_table": int(cursor.fetchone()[0])}

    def load_history(self, source: str | None = None, after_seq: int = 0) -> list[LoadRecord]:
        with self._transaction() as cursor:
            if not self._exists(cursor, RAW_SCHEMA, LEDGER_TABLE):
                return []
            cursor.execute(pyformat(LOAD_HISTORY_SQL), [source, source, after_seq])
            return _records(cursor.fetchall())

    def last_load_seq(self) -> int:
        with self._transaction() as cursor:
            if not self._exists(cursor, RAW_SCHEMA, LEDGER_TABLE):
                return 0
            cursor.execute(LAST_LOAD_SEQ_SQL)
            return int(cursor.fetchone()[0])

    def record_transform_build(self, load_seq: int, transform_fingerprint: str, run_id: str | None,
                               years: tuple[int, int] | None, attempt_seq: int | None = None) -> None:
        self._ddl(list(TRANSFORM_META_DDL))
        with self._transaction() as cursor:
            cursor.execute(pyformat(TRANSFORM_INSERT_SQL), transform_row(load_seq, transform_fingerprint, run_id, years, attempt_seq))

    def record_transform_attempt(self, attempt: TransformAttempt, manifest_gzip: bytes | None) -> int:
        """As ``warehouse.record_transform_attempt``; numbered under the ledger's lock (one writer at a time)."""
        self._ddl(list(TRANSFORM_META_DDL))
        with self._transaction() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", LEDGER_LOCK)
            cursor.execute(pyformat(STATE_SQL), [attempt.transform_fingerprint])
            if manifest_gzip is not None and not cursor.fetchall():
                cursor.execute(pyformat(STATE_INSERT_SQL), [attempt.transform_fingerprint, manifest_gzip])
            cursor.execute(pyformat(ATTEMPT_INSERT_SQL), attempt_row(attempt))
            return int(cursor.fetchone()[0])

    def transform_attempts(self, since_seq: int) -> list[TransformAttempt]:
        with self._transaction() as cursor:
            if not self._exists(cursor, META_SCHEMA, ATTEMPTS_TABLE):
                return []
            cursor.execute(pyformat(ATTEMPTS_SINCE_SQL), [since_seq])
            return attempt_records(cursor.fetchall())

    def transform_state(self, transform_fingerprint: str) -> bytes | None:
        with self._transaction() as cursor:
            if not self._exists(cursor, META_SCHEMA, STATES_TABLE):
                return None
            cursor.execute(pyformat(STATE_SQL), [transform_fingerprint])
            row = cursor.fetchone()
            return None if row is None else bytes(row[0])

    def prune_transform_states(self, since_seq: int) -> None:
        with self._transaction() as cursor:
            if self._exists(cursor, META_SCHEMA, STATES_TABLE):
                cursor.execute(pyformat(STATES_PRUNE_SQL), [since_seq])

    def record_source_contracts(self, rows: list[dict]) -> None:
        self._ddl([f"CREATE SCHEMA IF NOT EXISTS {META_SCHEMA}", SOURCE_CONTRACTS_DDL])
        with self._transaction() as cursor:
            cursor.execute(f"DELETE FROM {META_SCHEMA}.{SOURCE_CONTRACTS_TABLE}")
            cursor.executemany(pyformat(SOURCE_CONTRACTS_INSERT_SQL), [list(row.values()) for row in rows])

    def last_transform_build(self) -> dict | None:
        with self._transaction() as cursor:
            if not self._exists(cursor, META_SCHEMA, TRANSFORM_TABLE):
                return None
            cursor.execute(LAST_TRANSFORM_SQL)
            return transform_record(cursor.fetchone(), [column[0] for column in cursor.description])

    def raw_history(self, table: str, columns: list[str], match: pd.DataFrame) -> pd.DataFrame:
        """As ``warehouse.raw_history``, with the same column types."""
        wanted = list(dict.fromkeys([*columns, *match.columns]))
        empty = pd.DataFrame({column: pd.Series(dtype="object") for column in [*columns, "loaded_at"]})
        if match.empty:
            return empty
        for column in wanted:
            identifier(column)
        with self._transaction() as cursor, duckdb.connect() as duck:
            cursor.execute("SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s",
                           [RAW_SCHEMA, table])
            if not {*wanted, "loaded_at"} <= {row[0] for row in cursor.fetchall()}:
                return empty
            match_columns = list(match.columns)
            keys = ", ".join(identifier(column) for column in match_columns)
            cursor.execute(f"CREATE TEMPORARY TABLE history_keys ON COMMIT DROP AS SELECT {keys} "
                           f"FROM {RAW_SCHEMA}.{identifier(table)} LIMIT 0")
            duck.register("history_keys", match.drop_duplicates())
            copy_relation_in(duck, "history_keys", cursor, "history_keys", match_columns)
            copy_query_out(cursor, history_sql(table, columns, match_columns, "history_keys"), duck, "history")
            return duck.execute("SELECT * FROM history").fetchdf()

    def sample_rows(self, query: str, limit: int = 5) -> list[dict]:
        with self._transaction() as cursor:
            # ``query`` is dbt's compiled SQL of one of this project's own tests; no parameters, so
            # a % in it stays as written
            cursor.execute(f"SELECT * FROM ({query}) AS failing")
            names = [column[0] for column in cursor.description]
            return [dict(zip(names, row)) for row in cursor.fetchmany(limit)]

    def raw_summary(self) -> list[tuple[str, int, int]]:
        with self._transaction() as cursor:
            summary = []
            for table in raw_table_names(cursor, "%s"):
                cursor.execute(f"SELECT count(*), count(DISTINCT vintage) FROM {RAW_SCHEMA}.{identifier(table)}")
                summary.append((table, *cursor.fetchone()))
            return summary

    def copy_schema_into(self, duck: duckdb.DuckDBPyConnection, schema: str, target_database: str) -> list[str]:
        """Every table of ``schema`` copied into ``target_database.schema`` of ``duck``, from one snapshot."""
        with self._transaction(isolation="REPEATABLE READ") as cursor:
            cursor.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
                           "AND table_type = 'BASE TABLE' ORDER BY table_name", [schema])
            tables = [row[0] for row in cursor.fetchall()]
            duck.execute(f"CREATE SCHEMA IF NOT EXISTS {identifier(target_database)}.{identifier(schema)}")
            for table in tables:
                copy_query_out(cursor, f"SELECT * FROM {_quote(schema)}.{_quote(table)}", duck,
                               f"{identifier(target_database)}.{identifier(schema)}.{identifier(table)}")
        return tables
