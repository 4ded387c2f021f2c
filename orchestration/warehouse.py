"""The embedded DuckDB warehouse: raw loads, each in one transaction.

Only one process writes the file at a time (DuckDB allows one read-write process); every function
here opens a connection and closes it before returning, so the dbt step and publishing can open
the file after it within the same run.
"""

from __future__ import annotations

import contextlib
import datetime as dt
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


def load_raw(path: Path, table: str, frame: pd.DataFrame, replace_on: tuple[str, ...], load_id: str) -> dict:
    """Replace the rows of ``raw.<table>`` that share ``replace_on`` keys with ``frame``, then insert it.

    One transaction: a reader (or a crash) sees the table before or after the load, never between.
    Returns counts for the run's metadata.
    """
    for column in (*frame.columns, *replace_on):
        identifier(column)
    loaded_at = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    batch = frame.assign(load_id=load_id, loaded_at=loaded_at)
    qualified = f"{RAW_SCHEMA}.{identifier(table)}"
    keys = ", ".join(identifier(c) for c in replace_on)
    with connect(path) as conn:
        conn.register("incoming_batch", batch)
        conn.execute("BEGIN TRANSACTION")
        try:
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {RAW_SCHEMA}")
            conn.execute(f"CREATE TABLE IF NOT EXISTS {qualified} AS SELECT * FROM incoming_batch LIMIT 0")
            deleted = conn.execute(
                f"DELETE FROM {qualified} WHERE ({keys}) IN (SELECT DISTINCT {keys} FROM incoming_batch)"
            ).fetchone()[0] if replace_on else conn.execute(f"DELETE FROM {qualified}").fetchone()[0]
            columns = ", ".join(identifier(c) for c in batch.columns)
            conn.execute(f"INSERT INTO {qualified} ({columns}) SELECT {columns} FROM incoming_batch")
            total = conn.execute(f"SELECT count(*) FROM {qualified}").fetchone()[0]
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        finally:
            conn.unregister("incoming_batch")
    return {"rows_loaded": len(frame), "rows_replaced": int(deleted), "rows_in_table": int(total)}
