"""The embedded DuckDB warehouse: raw loads, each in one transaction.

Only one process writes the file at a time (DuckDB allows one read-write process); every function
here opens a connection and closes it before returning, so the dbt step and publishing can open
the file after it within the same run.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from dataclasses import dataclass
import re
import uuid
from pathlib import Path
from typing import Iterator

import duckdb
import pandas as pd

RAW_SCHEMA = "raw"
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")


def identifier(name: str) -> str:
    """A quoted SQL identifier; table and column names come from source specs, never from data."""
    if not _IDENTIFIER.match(name):
        raise ValueError(f"{name!r} is not a valid identifier")
    return f'"{name}"'


def sql_string(value: str) -> str:
    """A SQL string literal, for the few places DuckDB takes no parameter (ATTACH and COPY paths)."""
    return "'" + value.replace("'", "''") + "'"


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
                fingerprint: str) -> dict[str, dict]:
    """Load every table of one source for ``years`` and note it in the load ledger, in ONE transaction:
    a reader, or a crash, sees all of the source's tables before the load or all after it.
    Returns row counts per table for the run's metadata."""
    loaded_at = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    with connect(path) as conn:
        conn.execute("BEGIN TRANSACTION").fetchall()
        try:
            _ensure_ledger(conn)
            counts = {load.table: _replace_rows(conn, load, load_id, loaded_at, years) for load in loads}
            conn.execute(f"INSERT INTO {RAW_SCHEMA}.{LEDGER_TABLE} VALUES (?, ?, ?, ?, ?, ?)",
                         [source, fingerprint, years[0], years[1], load_id, loaded_at]).fetchall()
            conn.execute("COMMIT").fetchall()
        except BaseException:
            conn.execute("ROLLBACK").fetchall()
            raise
    return counts


def _ensure_ledger(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute(f"CREATE SCHEMA IF NOT EXISTS {RAW_SCHEMA}").fetchall()
    conn.execute(
        f"CREATE TABLE IF NOT EXISTS {RAW_SCHEMA}.{LEDGER_TABLE} (source VARCHAR, fingerprint VARCHAR, "
        "first_year INTEGER, last_year INTEGER, load_id VARCHAR, loaded_at TIMESTAMP)"
    ).fetchall()


def loaded_unchanged(path: Path, source: str, fingerprint: str, years: tuple[int, int]) -> str | None:
    """The load id that already loaded these exact bytes for every year of ``years``, else None."""
    if not path.exists():
        return None
    with connect(path) as conn:
        _ensure_ledger(conn)
        latest = conn.execute(
            f"SELECT fingerprint FROM {RAW_SCHEMA}.{LEDGER_TABLE} WHERE source = ? ORDER BY loaded_at DESC LIMIT 1", [source]
        ).fetchone()
        if latest is None or latest[0] != fingerprint:
            return None
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
