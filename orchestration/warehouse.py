"""The embedded DuckDB warehouse: raw loads, each in one transaction.

Only one process writes the file at a time (DuckDB allows one read-write process); every function
here opens a connection and closes it before returning, so the dbt step and publishing can open
the file after it within the same run.
"""

from __future__ import annotations

import contextlib
import json
import datetime as dt
from dataclasses import dataclass
import uuid
from pathlib import Path
from typing import Iterator

import duckdb
import pandas as pd

from orchestration.sql import identifier, sql_string  # noqa: F401  (re-exported: the loaders' SQL helpers)

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
    for column in (*load.frame.columns, *load.replace_on, *([load.year_column] if load.year_column else [])):
        identifier(column)
    batch = load.frame.assign(load_id=load_id, loaded_at=loaded_at)
    qualified = f"{RAW_SCHEMA}.{identifier(load.table)}"
    keys = ", ".join(identifier(c) for c in load.replace_on)
    conditions, parameters = [], []
    if load.replace_on:
        conditions.append(f"({keys}) IN (SELECT DISTINCT {keys} FROM incoming_batch)")
    if load.year_column:
        conditions.append(f"{identifier(load.year_column)} BETWEEN ? AND ?")
        parameters += list(years)
    where = " AND ".join(conditions) or "TRUE"
    conn.register("incoming_batch", batch)
    try:
        conn.execute(f"CREATE TABLE IF NOT EXISTS {qualified} AS SELECT * FROM incoming_batch LIMIT 0").fetchall()
        deleted = conn.execute(f"DELETE FROM {qualified} WHERE {where}", parameters).fetchall()[0][0]
        columns = ", ".join(identifier(c) for c in batch.columns)
        conn.execute(f"INSERT INTO {qualified} ({columns}) SELECT {columns} FROM incoming_batch").fetchall()
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
            conn.execute(
                f"INSERT INTO {RAW_SCHEMA}.{LEDGER_TABLE} (source, fingerprint, first_year, last_year, load_id, loaded_at, "
                f"load_seq, releases, whole_release, run_id) SELECT ?, ?, ?, ?, ?, ?, "
                f"coalesce(max(load_seq), 0) + 1, ?, ?, ? FROM {RAW_SCHEMA}.{LEDGER_TABLE}",
                [source, fingerprint, years[0], years[1], load_id, loaded_at, json.dumps(sorted(releases)), whole_release, run_id],
            ).fetchall()
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


def _ensure_ledger(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute(f"CREATE SCHEMA IF NOT EXISTS {RAW_SCHEMA}").fetchall()
    columns = ", ".join(f"{identifier(name)} {kind}" for name, kind in _LEDGER_COLUMNS[:6])
    conn.execute(f"CREATE TABLE IF NOT EXISTS {RAW_SCHEMA}.{LEDGER_TABLE} ({columns})").fetchall()
    present = {row[0] for row in conn.execute(
        "SELECT column_name FROM duckdb_columns() WHERE schema_name = ? AND table_name = ?", [RAW_SCHEMA, LEDGER_TABLE]
    ).fetchall()}
    for name, kind in _LEDGER_COLUMNS:
        if name not in present:  # a warehouse from before this column: added, old rows numbered by load time
            column_sql = f"{identifier(name)} {kind}"  # both from _LEDGER_COLUMNS above
            conn.execute(f"ALTER TABLE {RAW_SCHEMA}.{LEDGER_TABLE} ADD COLUMN {column_sql}").fetchall()
            if name == "load_seq":
                conn.execute(
                    f"UPDATE {RAW_SCHEMA}.{LEDGER_TABLE} AS ledger SET load_seq = numbered.seq FROM (SELECT load_id, "
                    f"row_number() OVER (ORDER BY loaded_at, load_id) AS seq FROM {RAW_SCHEMA}.{LEDGER_TABLE}) AS numbered "
                    "WHERE ledger.load_id = numbered.load_id"
                ).fetchall()


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
    with connect(path) as conn:
        _ensure_ledger(conn)
        rows = conn.execute(
            f"SELECT source, load_id, load_seq, first_year, last_year, coalesce(whole_release, false), releases "
            f"FROM {RAW_SCHEMA}.{LEDGER_TABLE} WHERE (? IS NULL OR source = ?) AND load_seq > ? ORDER BY load_seq",
            [source, source, after_seq],
        ).fetchall()
    return _records(rows)


def loaded_releases(history: list[LoadRecord]) -> set[str]:
    """The release keys some load carried for every year."""
    return {release for record in history if record.whole_release for release in record.releases}


def last_load_seq(path: Path) -> int:
    if not path.exists():
        return 0
    with connect(path) as conn:
        _ensure_ledger(conn)
        return int(conn.execute(f"SELECT coalesce(max(load_seq), 0) FROM {RAW_SCHEMA}.{LEDGER_TABLE}").fetchone()[0])


META_SCHEMA = "meta"
TRANSFORM_TABLE = "transform_builds"


def record_transform_build(path: Path, load_seq: int, transform_fingerprint: str, run_id: str | None,
                           years: tuple[int, int] | None) -> None:
    """Note a successful dbt build: the marts now reflect every load up to ``load_seq``, computed by
    the dbt project with ``transform_fingerprint``. Publishing records what it publishes from this."""
    with connect(path) as conn:
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {META_SCHEMA}").fetchall()
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {META_SCHEMA}.{TRANSFORM_TABLE} (load_seq BIGINT, transform_fingerprint VARCHAR, "
            "run_id VARCHAR, first_year INTEGER, last_year INTEGER, built_at TIMESTAMP)"
        ).fetchall()
        conn.execute(
            f"INSERT INTO {META_SCHEMA}.{TRANSFORM_TABLE} VALUES (?, ?, ?, ?, ?, ?)",
            [load_seq, transform_fingerprint, run_id, *(years or (None, None)),
             dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)],
        ).fetchall()


def last_transform_build(path: Path) -> dict | None:
    """The newest successful dbt build: {load_seq, transform_fingerprint, run_id}, or None."""
    if not path.exists():
        return None
    with connect(path) as conn:
        exists = conn.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = ? AND table_name = ?",
                              [META_SCHEMA, TRANSFORM_TABLE]).fetchone()[0]
        if not exists:
            return None
        row = conn.execute(f"SELECT load_seq, transform_fingerprint, run_id FROM {META_SCHEMA}.{TRANSFORM_TABLE} "
                           "ORDER BY built_at DESC LIMIT 1").fetchone()
    return None if row is None else {"load_seq": int(row[0]), "transform_fingerprint": row[1], "run_id": row[2]}


def sample_rows(path: Path, query: str, limit: int = 5) -> list[dict]:
    """The first rows of a query on the warehouse, read-only (a failed dbt test's failing rows)."""
    with connect(path, read_only=True) as conn:
        # ``query`` is dbt's compiled SQL of one of this project's own tests, never data or a setting
        cursor = conn.execute(f"SELECT * FROM ({query}) AS failing LIMIT ?", [limit])
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]
        rows = conn.execute(
            f"SELECT first_year, last_year, load_id FROM {RAW_SCHEMA}.{LEDGER_TABLE} WHERE source = ? AND fingerprint = ?",
            [source, fingerprint],
        ).fetchall()
    covered = {year for first, last, _ in rows for year in range(first, last + 1)}
    if all(year in covered for year in range(years[0], years[1] + 1)):
        return rows[-1][2]
    return None


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
        column_sql = ", ".join(f"history.{identifier(column)}" for column in [*columns, "loaded_at"])
        keys = ", ".join(identifier(column) for column in match.columns)
        where = "(" + ", ".join(f"history.{identifier(column)}" for column in match.columns) + ") IN (SELECT (" + keys + ") FROM history_keys)"
        conn.register("history_keys", match.drop_duplicates())
        try:
            return conn.execute(f"SELECT {column_sql} FROM {RAW_SCHEMA}.{identifier(table)} AS history WHERE {where}").fetchdf()
        finally:
            conn.unregister("history_keys")
