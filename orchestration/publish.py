"""Publishing: the marts copied to the serving DuckDB file (atomic swap) and to Parquet.

BI tools only ever open the serving copy, never the warehouse. The new copy is written beside the
old one and moved over it with one rename: a reader that opened the previous publication keeps
reading that file, a new reader sees the new one whole. The copy uses DuckDB storage version
v1.0.0 so that DuckDB 1.x drivers bundled in BI tools can open it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import duckdb

from orchestration.settings import PROJECT_ROOT, Settings
from orchestration.warehouse import identifier

SERVING_FILE = "kpi.duckdb"
PARQUET_LINK = "parquet"
RELEASES_DIR = "releases"
PUBLICATION_FILE = "publication.json"
RELEASES_KEPT = 3
MARTS_SCHEMA = "marts"
SERVING_STORAGE_VERSION = "v1.0.0"


def git_revision() -> str:
    try:
        result = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return result.stdout.strip() if result.returncode == 0 else "unknown"


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def new_publication_id(now: dt.datetime) -> str:
    return f"{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"


def publish(settings: Settings, run_id: str | None = None) -> dict:
    """Copy every table of the warehouse's marts schema to a new serving file and Parquet release."""
    now = dt.datetime.now(dt.timezone.utc)
    publication_id = new_publication_id(now)
    serving_dir = settings.serving_dir
    release_dir = serving_dir / RELEASES_DIR / publication_id
    release_dir.mkdir(parents=True)
    partial = serving_dir / f".{SERVING_FILE}.{publication_id}.partial"
    connection = duckdb.connect()
    try:
        connection.execute(f"ATTACH {_sql_string(str(settings.warehouse_path))} AS warehouse (READ_ONLY)")
        connection.execute(f"ATTACH {_sql_string(str(partial))} AS serving (STORAGE_VERSION '{SERVING_STORAGE_VERSION}')")
        tables = [row[0] for row in connection.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = 'warehouse' AND schema_name = ? ORDER BY table_name",
            [MARTS_SCHEMA],
        ).fetchall()]
        if not tables:
            raise RuntimeError(f"the warehouse {settings.warehouse_path} has no tables in schema {MARTS_SCHEMA}: nothing to publish")
        connection.execute(f"CREATE SCHEMA serving.{MARTS_SCHEMA}")
        row_counts = {}
        for table in tables:
            source = f"warehouse.{MARTS_SCHEMA}.{identifier(table)}"
            connection.execute(f"CREATE TABLE serving.{MARTS_SCHEMA}.{identifier(table)} AS SELECT * FROM {source}")
            connection.execute(f"COPY (SELECT * FROM {source}) TO {_sql_string(str(release_dir / f'{table}.parquet'))} (FORMAT parquet)")
            row_counts[table] = connection.execute(f"SELECT count(*) FROM {source}").fetchone()[0]
        vintages = _source_vintages(connection, tables)
        record = {
            "publication_id": publication_id,
            "published_at": now.isoformat(timespec="seconds"),
            "git_revision": git_revision(),
            "run_id": run_id,
            "source_vintages": vintages,
            "row_counts": row_counts,
            "storage_version": SERVING_STORAGE_VERSION,
        }
        connection.execute(
            f"CREATE TABLE serving.{MARTS_SCHEMA}.publication AS SELECT ? AS publication_id, CAST(? AS TIMESTAMP) AS published_at, "
            "? AS git_revision, ? AS run_id, ? AS source_vintages, ? AS row_counts",
            [publication_id, now.replace(tzinfo=None), record["git_revision"], run_id, json.dumps(vintages), json.dumps(row_counts)],
        )
        connection.execute("DETACH serving")
        connection.execute("DETACH warehouse")
    except BaseException:
        connection.close()
        partial.unlink(missing_ok=True)
        shutil.rmtree(release_dir, ignore_errors=True)
        raise
    connection.close()
    (release_dir / PUBLICATION_FILE).write_text(json.dumps(record, indent=2))
    _swap_in(serving_dir, partial, release_dir)
    return record


def _source_vintages(connection: duckdb.DuckDBPyConnection, tables: list[str]) -> dict:
    if "kpi_annual" not in tables:
        return {}
    rows = connection.execute(
        f"SELECT source_id, min(source_vintage), max(source_vintage) FROM warehouse.{MARTS_SCHEMA}.kpi_annual GROUP BY source_id ORDER BY source_id"
    ).fetchall()
    return {source_id: {"oldest": oldest, "newest": newest} for source_id, oldest, newest in rows}


def _swap_in(serving_dir: Path, partial: Path, release_dir: Path) -> None:
    """Make the new publication current: one rename for the DuckDB file, one for the Parquet link."""
    os.replace(partial, serving_dir / SERVING_FILE)
    link_tmp = serving_dir / f".{PARQUET_LINK}.{release_dir.name}.partial"
    link_tmp.symlink_to(Path(RELEASES_DIR) / release_dir.name, target_is_directory=True)
    os.replace(link_tmp, serving_dir / PARQUET_LINK)
    shutil.copyfile(release_dir / PUBLICATION_FILE, serving_dir / f".{PUBLICATION_FILE}.partial")
    os.replace(serving_dir / f".{PUBLICATION_FILE}.partial", serving_dir / PUBLICATION_FILE)
    releases = sorted((serving_dir / RELEASES_DIR).iterdir(), key=lambda p: p.name)
    for old in releases[:-RELEASES_KEPT]:
        shutil.rmtree(old, ignore_errors=True)


def current_publication(serving_dir: Path) -> dict | None:
    path = serving_dir / PUBLICATION_FILE
    return json.loads(path.read_text()) if path.is_file() else None
