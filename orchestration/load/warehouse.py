"""The warehouse: raw loads (each source in one transaction), the load ledger, the transform record.

Two engines, chosen by ``KPI_WAREHOUSE`` (``warehouse_for(settings)``), behind one ``Warehouse``
protocol that the load step, the dbt step, publishing and the CLI use:

- ``duckdb`` (default): the embedded file ``KPI_WAREHOUSE_PATH``; the functions of this module.
  Only one process writes the file at a time (DuckDB allows one read-write process); every
  function here opens a connection and closes it before returning, so the dbt step and publishing
  can open the file after it within the same run.
- ``postgres``: the database of ``KPI_PG_*`` (orchestration/load/postgres_warehouse.py): the same
  tables, ledger and semantics, loaded with COPY; several processes may load sources at once.
"""

from __future__ import annotations

import contextlib
import json
import datetime as dt
from dataclasses import dataclass
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Protocol

if TYPE_CHECKING:
    pass

import duckdb
import pandas as pd

from orchestration.load.lock import FileLock, WriterLock

from orchestration.load.raw_schema import cast_select_list, create_table_sql
from orchestration.core.sql import identifier, sql_string  # noqa: F401  (re-exported: the loaders' SQL helpers)

RAW_SCHEMA = "raw"


@contextlib.contextmanager
def connect(path: Path, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = duckdb.connect(str(path), read_only=read_only)
    try:
        yield connection
    finally:
        connection.close()


def new_load_id() -> str:
    return f"{dt.datetime.now(dt.timezone.utc):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"


LEDGER_TABLE = "load_ledger"


@dataclass(frozen=True)
class RawLoad:
    """One table's share of a source load: ``frame`` replaces the rows of ``raw.<table>`` that share
    its ``replace_on`` keys (within the load's years of ``year_column`` when given)."""

    table: str
    frame: pd.DataFrame
    replace_on: tuple[str, ...]
    year_column: str | None = None


def _replace_rows(conn: duckdb.DuckDBPyConnection, load: RawLoad, load_id: str, loaded_at: dt.datetime,
                  years: tuple[int, int]) -> dict:
    for column in load.frame.columns:
        identifier(column)
    batch = load.frame.assign(load_id=load_id, loaded_at=loaded_at)
    qualified = f"{RAW_SCHEMA}.{identifier(load.table)}"
    conn.register("incoming_batch", batch)
    try:
        conn.execute(create_table_sql(load.table, "incoming_batch")).fetchall()  # its declared schema (raw_schema.py)
        deleted = conn.execute(delete_replaced_sql(load, "incoming_batch"), list(years) if load.year_column else []).fetchall()[0][0]
        columns = ", ".join(identifier(c) for c in batch.columns)
        conn.execute(f"INSERT INTO {qualified} ({columns}) SELECT {cast_select_list(load.table, list(batch.columns))} "
                     "FROM incoming_batch").fetchall()
        total = conn.execute(f"SELECT count(*) FROM {qualified}").fetchall()[0][0]
    finally:
        conn.unregister("incoming_batch")
    return {"rows_loaded": len(load.frame), "rows_replaced": int(deleted), "rows_in_table": int(total)}


def load_source(path: Path, source: str, loads: list[RawLoad], years: tuple[int, int], load_id: str,
                fingerprint: str, releases: tuple[str, ...] = (), whole_release: bool = False,
                run_id: str | None = None) -> dict[str, dict]:
    """Load every table of one source for ``years`` and note it in the load ledger, in ONE transaction:
    a reader, or a crash, sees all of the source's tables before the load or all after it.

    ``releases``: the release keys (see ``release_key``) whose rows this load carries; with
    ``whole_release`` they were loaded for every year, so a later run knows them as loaded.
    Returns row counts per table for the run's metadata.
    """
    loaded_at = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    with connect(path) as conn:
        conn.execute("BEGIN TRANSACTION").fetchall()
        try:
            _ensure_ledger(conn)
            counts = {load.table: _replace_rows(conn, load, load_id, loaded_at, years) for load in loads}
            conn.execute(LEDGER_INSERT_SQL, ledger_row(source, fingerprint, years, load_id, loaded_at, releases,
                                                       whole_release, run_id)).fetchall()
            conn.execute("COMMIT").fetchall()
        except BaseException:
            conn.execute("ROLLBACK").fetchall()
            raise
    return counts


_LEDGER_COLUMNS = (
    ("source", "VARCHAR"), ("fingerprint", "VARCHAR"), ("first_year", "INTEGER"), ("last_year", "INTEGER"),
    ("load_id", "VARCHAR"), ("loaded_at", "TIMESTAMP"),
    # added for releases as the unit of load: a strictly increasing number per load (publications
    # record the last one they include), the release keys loaded, whether for every year, the run
    ("load_seq", "BIGINT"), ("releases", "VARCHAR"), ("whole_release", "BOOLEAN"), ("run_id", "VARCHAR"),
)

# The SQL both engines run on the ledger and the transform record (``?`` parameters; the PostgreSQL
# warehouse converts them to its driver's style with ``orchestration.core.sql.pyformat``).
# A load's number is one more than the highest so far: on PostgreSQL, where sources load at once,
# the insert runs under a transaction lock held to commit, so numbers follow commit order.
LEDGER_INSERT_SQL = (
    f"INSERT INTO {RAW_SCHEMA}.{LEDGER_TABLE} (source, fingerprint, first_year, last_year, load_id, loaded_at, "
    f"load_seq, releases, whole_release, run_id) SELECT ?, ?, ?, ?, ?, ?, "
    f"coalesce(max(load_seq), 0) + 1, ?, ?, ? FROM {RAW_SCHEMA}.{LEDGER_TABLE}"
)
LOAD_HISTORY_SQL = (
    f"SELECT source, load_id, load_seq, first_year, last_year, coalesce(whole_release, false), releases "
    f"FROM {RAW_SCHEMA}.{LEDGER_TABLE} WHERE (CAST(? AS VARCHAR) IS NULL OR source = ?) AND load_seq > ? ORDER BY load_seq"
)
LAST_LOAD_SEQ_SQL = f"SELECT coalesce(max(load_seq), 0) FROM {RAW_SCHEMA}.{LEDGER_TABLE}"


def ledger_row(source: str, fingerprint: str, years: tuple[int, int], load_id: str, loaded_at: dt.datetime,
               releases: tuple[str, ...], whole_release: bool, run_id: str | None) -> list:
    """The parameters of LEDGER_INSERT_SQL."""
    return [source, fingerprint, years[0], years[1], load_id, loaded_at, json.dumps(sorted(releases)), whole_release, run_id]


def ledger_ddl() -> str:
    columns = ", ".join(f"{identifier(name)} {kind}" for name, kind in _LEDGER_COLUMNS)
    return f"CREATE TABLE IF NOT EXISTS {RAW_SCHEMA}.{LEDGER_TABLE} ({columns})"


def _ensure_ledger(conn: duckdb.DuckDBPyConnection) -> None:
    """The ledger of a new warehouse (a load creates it); an older ledger's columns are migrated by
    orchestration.load.upgrade before any step writes."""
    conn.execute(f"CREATE SCHEMA IF NOT EXISTS {RAW_SCHEMA}").fetchall()
    conn.execute(ledger_ddl()).fetchall()


def _has_ledger(conn: duckdb.DuckDBPyConnection) -> bool:
    return bool(conn.execute(TABLE_EXISTS_SQL, [RAW_SCHEMA, LEDGER_TABLE]).fetchone()[0])


def release_key(landing_sha256: str, countries: tuple[str, ...]) -> str:
    """What makes a release 'already loaded': its bytes, and the countries it was parsed for (a
    country added to KPI_COUNTRIES makes every release new again, so it is loaded for that country)."""
    return f"{landing_sha256}:{','.join(sorted(countries))}"


@dataclass(frozen=True)
class LoadRecord:
    source: str
    load_id: str
    load_seq: int
    first_year: int
    last_year: int
    whole_release: bool
    releases: tuple[str, ...]


def _records(rows) -> list[LoadRecord]:
    return [LoadRecord(source, load_id, int(seq), first, last, bool(whole), tuple(json.loads(releases or "[]")))
            for source, load_id, seq, first, last, whole, releases in rows]


def load_history(path: Path, source: str | None = None, after_seq: int = 0) -> list[LoadRecord]:
    """Every load (of ``source``, or of all sources) after ``after_seq``, in load order."""
    if not path.exists():
        return []
    with connect(path) as conn:  # a read: no DDL (reads run inside steps, after orchestration.load.upgrade)
        if not _has_ledger(conn):
            return []
        rows = conn.execute(LOAD_HISTORY_SQL, [source, source, after_seq]).fetchall()
    return _records(rows)


def loaded_releases(history: list[LoadRecord]) -> set[str]:
    """The release keys some load carried for every year."""
    return {release for record in history if record.whole_release for release in record.releases}


def last_load_seq(path: Path) -> int:
    if not path.exists():
        return 0
    with connect(path) as conn:
        if not _has_ledger(conn):
            return 0
        return int(conn.execute(LAST_LOAD_SEQ_SQL).fetchone()[0])


META_SCHEMA = "meta"
TRANSFORM_TABLE = "transform_builds"
TRANSFORM_TABLE_DDL = (f"CREATE TABLE IF NOT EXISTS {META_SCHEMA}.{TRANSFORM_TABLE} (load_seq BIGINT, transform_fingerprint "
                       "VARCHAR, run_id VARCHAR, first_year INTEGER, last_year INTEGER, built_at TIMESTAMP, attempt_seq BIGINT)")
# warehouses built by 0.3.1 or earlier have no attempt_seq: their builds name no attempt (the next build builds everything)
TRANSFORM_TABLE_UPGRADE = f"ALTER TABLE {META_SCHEMA}.{TRANSFORM_TABLE} ADD COLUMN IF NOT EXISTS attempt_seq BIGINT"
TRANSFORM_INSERT_SQL = (f"INSERT INTO {META_SCHEMA}.{TRANSFORM_TABLE} (load_seq, transform_fingerprint, run_id, first_year, "
                        "last_year, built_at, attempt_seq) VALUES (?, ?, ?, ?, ?, ?, ?)")
LAST_TRANSFORM_SQL = f"SELECT * FROM {META_SCHEMA}.{TRANSFORM_TABLE} ORDER BY built_at DESC LIMIT 1"
TABLE_EXISTS_SQL = ("SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ? "
                    "AND table_type = 'BASE TABLE'")

# every dbt build that started (finished or not), and the manifest of each dbt project one of them built
# with: what the next build compares the project with (dbt's state:modified+, orchestration.transform.state)
ATTEMPTS_TABLE = "transform_attempts"
ATTEMPTS_DDL = (f"CREATE TABLE IF NOT EXISTS {META_SCHEMA}.{ATTEMPTS_TABLE} (attempt_seq BIGINT, run_id VARCHAR, "
                "transform_fingerprint VARCHAR, contracts_fingerprint VARCHAR, settings_fingerprint VARCHAR, "
                "dbt_versions VARCHAR, started_at TIMESTAMP)")
ATTEMPT_INSERT_SQL = (f"INSERT INTO {META_SCHEMA}.{ATTEMPTS_TABLE} SELECT coalesce(max(attempt_seq), 0) + 1, ?, ?, ?, ?, ?, ? "
                      f"FROM {META_SCHEMA}.{ATTEMPTS_TABLE} RETURNING attempt_seq")
ATTEMPTS_SINCE_SQL = (f"SELECT attempt_seq, run_id, transform_fingerprint, contracts_fingerprint, settings_fingerprint, "
                      f"dbt_versions FROM {META_SCHEMA}.{ATTEMPTS_TABLE} WHERE attempt_seq >= ? ORDER BY attempt_seq")
STATES_TABLE = "transform_states"
STATES_DDL = f"CREATE TABLE IF NOT EXISTS {META_SCHEMA}.{STATES_TABLE} (transform_fingerprint VARCHAR, manifest_gzip BYTEA)"
STATE_SQL = f"SELECT manifest_gzip FROM {META_SCHEMA}.{STATES_TABLE} WHERE transform_fingerprint = ?"
STATE_INSERT_SQL = f"INSERT INTO {META_SCHEMA}.{STATES_TABLE} VALUES (?, ?)"
# a state no attempt since ``?`` (the live publication's) built with is never compared with again
STATES_PRUNE_SQL = (f"DELETE FROM {META_SCHEMA}.{STATES_TABLE} WHERE transform_fingerprint NOT IN "
                    f"(SELECT transform_fingerprint FROM {META_SCHEMA}.{ATTEMPTS_TABLE} WHERE attempt_seq >= ?)")
TRANSFORM_META_DDL = (f"CREATE SCHEMA IF NOT EXISTS {META_SCHEMA}", TRANSFORM_TABLE_DDL, TRANSFORM_TABLE_UPGRADE,
                      ATTEMPTS_DDL, STATES_DDL)


def transform_row(load_seq: int, transform_fingerprint: str, run_id: str | None, years: tuple[int, int] | None,
                  attempt_seq: int | None = None) -> list:
    return [load_seq, transform_fingerprint, run_id, *(years or (None, None)),
            dt.datetime.now(dt.timezone.utc).replace(tzinfo=None), attempt_seq]


def transform_record(row, columns: list[str]) -> dict | None:
    """{load_seq, transform_fingerprint, run_id, attempt_seq (None: built by 0.3.1 or earlier)} of a transform_builds row."""
    if row is None:
        return None
    values = dict(zip(columns, row))
    return {"load_seq": int(values["load_seq"]), "transform_fingerprint": values["transform_fingerprint"],
            "run_id": values["run_id"], "attempt_seq": values.get("attempt_seq")}


def attempt_row(attempt: "TransformAttempt") -> list:
    return [attempt.run_id, attempt.transform_fingerprint, attempt.contracts_fingerprint, attempt.settings_fingerprint,
            attempt.dbt_versions, dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)]


@dataclass(frozen=True)
class TransformAttempt:
    """A dbt build that started: the project it built with (``orchestration.transform.state.ProjectVersion``)."""

    run_id: str | None
    transform_fingerprint: str
    contracts_fingerprint: str
    settings_fingerprint: str
    dbt_versions: str
    attempt_seq: int | None = None


def attempt_records(rows) -> list[TransformAttempt]:
    return [TransformAttempt(attempt_seq=int(row[0]), run_id=row[1], transform_fingerprint=row[2],
                             contracts_fingerprint=row[3], settings_fingerprint=row[4], dbt_versions=row[5]) for row in rows]


def record_transform_build(path: Path, load_seq: int, transform_fingerprint: str, run_id: str | None,
                           years: tuple[int, int] | None, attempt_seq: int | None = None) -> None:
    """Note a successful dbt build: the marts now reflect every load up to ``load_seq``, computed by
    the dbt project with ``transform_fingerprint``, in the attempt ``attempt_seq``. Publishing records
    what it publishes from this."""
    with connect(path) as conn:
        for statement in TRANSFORM_META_DDL:
            conn.execute(statement).fetchall()
        conn.execute(TRANSFORM_INSERT_SQL, transform_row(load_seq, transform_fingerprint, run_id, years, attempt_seq)).fetchall()


def record_transform_attempt(path: Path, attempt: TransformAttempt, manifest_gzip: bytes | None) -> int:
    """Note that a dbt build starts, before it writes anything, and keep its project's manifest (gzip)
    unless one is kept for the same fingerprint. Returns the attempt's number."""
    with connect(path) as conn:
        for statement in TRANSFORM_META_DDL:
            conn.execute(statement).fetchall()
        conn.execute("BEGIN TRANSACTION")
        if manifest_gzip is not None and not conn.execute(STATE_SQL, [attempt.transform_fingerprint]).fetchall():
            conn.execute(STATE_INSERT_SQL, [attempt.transform_fingerprint, manifest_gzip])
        seq = int(conn.execute(ATTEMPT_INSERT_SQL, attempt_row(attempt)).fetchone()[0])
        conn.execute("COMMIT")
        return seq


def transform_attempts(path: Path, since_seq: int) -> list[TransformAttempt]:
    """The attempts numbered ``since_seq`` or later, oldest first."""
    if not path.exists():
        return []
    with connect(path) as conn:
        if not conn.execute(TABLE_EXISTS_SQL, [META_SCHEMA, ATTEMPTS_TABLE]).fetchone()[0]:
            return []
        return attempt_records(conn.execute(ATTEMPTS_SINCE_SQL, [since_seq]).fetchall())


def transform_state(path: Path, transform_fingerprint: str) -> bytes | None:
    """The manifest (gzip) kept for the dbt project ``transform_fingerprint``, or None."""
    if not path.exists():
        return None
    with connect(path) as conn:
        if not conn.execute(TABLE_EXISTS_SQL, [META_SCHEMA, STATES_TABLE]).fetchone()[0]:
            return None
        row = conn.execute(STATE_SQL, [transform_fingerprint]).fetchone()
        return None if row is None else bytes(row[0])


def prune_transform_states(path: Path, since_seq: int) -> None:
    """Drop the manifests no attempt numbered ``since_seq`` or later built with."""
    with connect(path) as conn:
        if conn.execute(TABLE_EXISTS_SQL, [META_SCHEMA, STATES_TABLE]).fetchone()[0]:
            conn.execute(STATES_PRUNE_SQL, [since_seq]).fetchall()


SOURCE_CONTRACTS_TABLE = "source_contracts"
SOURCE_CONTRACTS_DDL = (f"CREATE TABLE IF NOT EXISTS {META_SCHEMA}.{SOURCE_CONTRACTS_TABLE} (source_id VARCHAR, source_name VARCHAR, "
                        "title VARCHAR, licence VARCHAR, cadence VARCHAR, warn_after_days INTEGER, fail_after_days INTEGER)")
SOURCE_CONTRACTS_INSERT_SQL = f"INSERT INTO {META_SCHEMA}.{SOURCE_CONTRACTS_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?)"


def record_source_contracts(path: Path, rows: list[dict]) -> None:
    """Replace ``meta.source_contracts`` with ``rows`` (one per source: ids, title, licence, cadence),
    in one transaction: what dbt's dim_kpi reads, so a licence is written once, in its source."""
    with connect(path) as conn:
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {META_SCHEMA}").fetchall()
        conn.execute(SOURCE_CONTRACTS_DDL).fetchall()
        conn.execute("BEGIN TRANSACTION")
        conn.execute(f"DELETE FROM {META_SCHEMA}.{SOURCE_CONTRACTS_TABLE}")
        conn.executemany(SOURCE_CONTRACTS_INSERT_SQL, [list(row.values()) for row in rows])
        conn.execute("COMMIT")


def last_transform_build(path: Path) -> dict | None:
    """The newest successful dbt build: {load_seq, transform_fingerprint, run_id, attempt_seq}, or None."""
    if not path.exists():
        return None
    with connect(path) as conn:
        if not conn.execute(TABLE_EXISTS_SQL, [META_SCHEMA, TRANSFORM_TABLE]).fetchone()[0]:
            return None
        cursor = conn.execute(LAST_TRANSFORM_SQL)
        return transform_record(cursor.fetchone(), [column[0] for column in cursor.description])


def sample_rows(path: Path, query: str, limit: int = 5) -> list[dict]:
    """The first rows of a query on the warehouse, read-only (a failed dbt test's failing rows)."""
    with connect(path, read_only=True) as conn:
        # ``query`` is dbt's compiled SQL of one of this project's own tests, never data or a setting
        cursor = conn.execute(f"SELECT * FROM ({query}) AS failing LIMIT ?", [limit])
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]


def raw_history(path: Path, table: str, columns: list[str], match: pd.DataFrame) -> pd.DataFrame:
    """Every vintage ``raw.<table>`` keeps of the series named in ``match`` (the rows whose values in
    ``match``'s columns occur in it): ``columns`` plus ``loaded_at``, the time each row was loaded.

    Used to compare a new release with the releases earlier loads kept (a live run parses only the
    new landing). Empty when the warehouse, the table or one of ``columns`` does not exist yet."""
    wanted = list(dict.fromkeys([*columns, *match.columns]))
    empty = pd.DataFrame({column: pd.Series(dtype="object") for column in [*columns, "loaded_at"]})
    if not path.exists() or match.empty:
        return empty
    for column in wanted:
        identifier(column)
    with connect(path) as conn:
        present = {row[0] for row in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ?",
            [RAW_SCHEMA, table]).fetchall()}
        if not {*wanted, "loaded_at"} <= present:
            return empty
        conn.register("history_keys", match.drop_duplicates())
        try:
            return conn.execute(history_sql(table, columns, list(match.columns), "history_keys")).fetchdf()
        finally:
            conn.unregister("history_keys")


def history_sql(table: str, columns: list[str], match_columns: list[str], keys_relation: str) -> str:
    """The rows of ``raw.<table>`` whose ``match_columns`` occur in ``keys_relation`` (a table or a
    registered DataFrame): ``columns`` and loaded_at."""
    column_sql = ", ".join(f"history.{identifier(column)}" for column in [*columns, "loaded_at"])
    keys = ", ".join(identifier(column) for column in match_columns)
    where = ("(" + ", ".join(f"history.{identifier(column)}" for column in match_columns) + ")"
             + f" IN (SELECT {keys} FROM {identifier(keys_relation)})")
    return f"SELECT {column_sql} FROM {RAW_SCHEMA}.{identifier(table)} AS history WHERE {where}"


def delete_replaced_sql(load: RawLoad, batch_relation: str) -> str:
    """DELETE the rows of ``raw.<table>`` that ``load`` replaces: those sharing its ``replace_on`` keys
    with the batch (``batch_relation``: a table or a registered DataFrame), within the load's years
    (two ``?`` parameters) when it has a year column."""
    for column in (*load.replace_on, *([load.year_column] if load.year_column else [])):
        identifier(column)
    keys = ", ".join(identifier(c) for c in load.replace_on)
    conditions = []
    if load.replace_on:
        conditions.append(f"({keys}) IN (SELECT DISTINCT {keys} FROM {identifier(batch_relation)})")
    if load.year_column:
        conditions.append(f"{identifier(load.year_column)} BETWEEN ? AND ?")
    where = " AND ".join(conditions) or "TRUE"
    return f"DELETE FROM {RAW_SCHEMA}.{identifier(load.table)} WHERE {where}"


def raw_table_names(conn, param: str = "?") -> list[str]:
    """The raw tables but the ledger (``conn``: a DuckDB connection or a DB-API cursor)."""
    rows = conn.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = {p} AND table_name <> {p} "
        "AND table_type = 'BASE TABLE' ORDER BY table_name".format(p=param), [RAW_SCHEMA, LEDGER_TABLE])
    return [row[0] for row in (rows or conn).fetchall()]


# --- the engines behind one protocol ---------------------------------------------------------------


class Warehouse(Protocol):
    """What the pipeline asks of its warehouse engine (see the module's docstring)."""

    engine: str  # "duckdb" or "postgres": also the dbt target
    concurrent_writers: bool  # several processes may load sources at once

    def describe(self) -> str: ...
    def writer_lock(self) -> "WriterLock": ...
    def load_source(self, source: str, loads: list[RawLoad], years: tuple[int, int], load_id: str, fingerprint: str,
                    releases: tuple[str, ...] = (), whole_release: bool = False, run_id: str | None = None) -> dict[str, dict]: ...
    def load_history(self, source: str | None = None, after_seq: int = 0) -> list[LoadRecord]: ...
    def last_load_seq(self) -> int: ...
    def record_transform_build(self, load_seq: int, transform_fingerprint: str, run_id: str | None,
                               years: tuple[int, int] | None, attempt_seq: int | None = None) -> None: ...
    def last_transform_build(self) -> dict | None: ...
    def record_transform_attempt(self, attempt: TransformAttempt, manifest_gzip: bytes | None) -> int: ...
    def transform_attempts(self, since_seq: int) -> list[TransformAttempt]: ...
    def transform_state(self, transform_fingerprint: str) -> bytes | None: ...
    def prune_transform_states(self, since_seq: int) -> None: ...
    def record_source_contracts(self, rows: list[dict]) -> None: ...
    def raw_history(self, table: str, columns: list[str], match: pd.DataFrame) -> pd.DataFrame: ...
    def sample_rows(self, query: str, limit: int = 5) -> list[dict]: ...
    def raw_summary(self) -> list[tuple[str, int, int]]: ...
    def copy_schema_into(self, duck: duckdb.DuckDBPyConnection, schema: str, target_database: str) -> list[str]: ...


@dataclass(frozen=True)
class DuckDBWarehouse:
    """The embedded DuckDB file: one writer process at a time (a file lock beside it)."""

    path: Path
    engine: str = "duckdb"
    concurrent_writers: bool = False

    def describe(self) -> str:
        return str(self.path)

    def writer_lock(self) -> "WriterLock":
        return FileLock(self.path)

    def load_source(self, source, loads, years, load_id, fingerprint, releases=(), whole_release=False, run_id=None):
        return load_source(self.path, source, loads, years, load_id, fingerprint, releases, whole_release, run_id)

    def load_history(self, source=None, after_seq=0):
        return load_history(self.path, source, after_seq)

    def last_load_seq(self):
        return last_load_seq(self.path)

    def record_transform_build(self, load_seq, transform_fingerprint, run_id, years, attempt_seq=None):
        record_transform_build(self.path, load_seq, transform_fingerprint, run_id, years, attempt_seq)

    def record_transform_attempt(self, attempt, manifest_gzip):
        return record_transform_attempt(self.path, attempt, manifest_gzip)

    def transform_attempts(self, since_seq):
        return transform_attempts(self.path, since_seq)

    def transform_state(self, transform_fingerprint):
        return transform_state(self.path, transform_fingerprint)

    def prune_transform_states(self, since_seq):
        prune_transform_states(self.path, since_seq)

    def record_source_contracts(self, rows):
        record_source_contracts(self.path, rows)

    def last_transform_build(self):
        return last_transform_build(self.path)

    def raw_history(self, table, columns, match):
        return raw_history(self.path, table, columns, match)

    def sample_rows(self, query, limit=5):
        return sample_rows(self.path, query, limit)

    def raw_summary(self) -> list[tuple[str, int, int]]:
        """(table, rows, vintages) of every raw table."""
        if not self.path.exists():
            return []
        with connect(self.path, read_only=True) as conn:
            return [(table, *conn.execute(f"SELECT count(*), count(DISTINCT vintage) FROM {RAW_SCHEMA}.{identifier(table)}").fetchone())
                    for table in raw_table_names(conn)]

    def copy_schema_into(self, duck, schema, target_database):
        """Every table of ``schema`` copied into ``target_database.schema`` of ``duck`` (an attached DuckDB file)."""
        duck.execute(f"ATTACH {sql_string(str(self.path))} AS warehouse (READ_ONLY)")
        try:
            tables = [row[0] for row in duck.execute(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = 'warehouse' AND schema_name = ? ORDER BY table_name",
                [schema]).fetchall()]
            duck.execute(f"CREATE SCHEMA IF NOT EXISTS {identifier(target_database)}.{identifier(schema)}")
            for table in tables:
                duck.execute(f"CREATE TABLE {identifier(target_database)}.{identifier(schema)}.{identifier(table)} AS "
                             f"SELECT * FROM warehouse.{identifier(schema)}.{identifier(table)}")
        finally:
            duck.execute("DETACH warehouse")
        return tables
