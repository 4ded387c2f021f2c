"""Publishing: the marts copied to the serving DuckDB file (atomic swap) and to Parquet.

BI tools only ever open the serving copy, never the warehouse. The new copy is written beside the
old one and moved over it with one rename: a reader that opened the previous publication keeps
reading that file, a new reader sees the new one whole. The copy uses DuckDB storage version
v1.0.0 so that DuckDB 1.x drivers bundled in BI tools can open it.

Everything of one publication lives in ``releases/<id>/`` (``parquet/<mart>.parquet``, only Parquet
files, so the folder reads as a set of datasets; the publication record, the docs, the KPI report);
``parquet`` and ``docs`` are symlinks into the current release, each swapped by one rename. The
pipeline never opens the serving file for writing: a new file is written under a ``.partial`` name
and renamed over it. A crashed publish leaves only ``.partial`` files and an
unfinished release directory; the next publish removes them first.

With ``KPI_PUBLISH_POSTGRES=1`` (orchestration/postgres.py) the same tables also replace the
PostgreSQL schema ``marts`` in one transaction, before the local swap: if PostgreSQL fails, nothing
is swapped and both keep the previous publication.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Mapping
from pathlib import Path

import duckdb

from orchestration.postgres import PostgresTarget, replace_schema
from orchestration.settings import PROJECT_ROOT, Settings
from orchestration.warehouse import identifier, sql_string

SERVING_FILE = "kpi.duckdb"
PARQUET_LINK = "parquet"
DOCS_LINK = "docs"
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


def new_publication_id(now: dt.datetime) -> str:
    return f"{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"


def clean_stale(serving_dir: Path) -> list[str]:
    """Remove what a crashed publish left: ``.partial`` files and links, unfinished release directories.

    A release directory is finished once its publication.json is written (the last step before the
    swap); the release the ``parquet`` link points at is never removed.
    """
    removed: list[str] = []
    if not serving_dir.is_dir():
        return removed
    for path in serving_dir.iterdir():
        if path.name.startswith(".") and (path.name.endswith(".partial") or path.name.endswith(".partial.wal")):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            removed.append(path.name)
    releases = serving_dir / RELEASES_DIR
    current = current_release_dir(serving_dir)
    if releases.is_dir():
        for release in releases.iterdir():
            if release.is_dir() and not (release / PUBLICATION_FILE).is_file() and release.resolve() != current:
                shutil.rmtree(release, ignore_errors=True)
                removed.append(f"{RELEASES_DIR}/{release.name}")
    return sorted(removed)


def publish(settings: Settings, run_id: str | None = None, docs_dir: Path | None = None,
            extra_docs: Mapping[str, str] | None = None, postgres: PostgresTarget | None = None) -> dict:
    """Copy every table of the warehouse's marts schema to a new serving file and Parquet release.

    ``docs_dir``: files (dbt docs) copied into the release's ``docs/``; ``extra_docs``: more pages for
    it, name -> HTML. ``postgres``: when its ``publish`` is set, the marts also replace its schema.
    """
    now = dt.datetime.now(dt.timezone.utc)
    publication_id = new_publication_id(now)
    serving_dir = settings.serving_dir
    serving_dir.mkdir(parents=True, exist_ok=True)
    cleaned = clean_stale(serving_dir)
    release_dir = serving_dir / RELEASES_DIR / publication_id
    (release_dir / PARQUET_LINK).mkdir(parents=True)
    partial = serving_dir / f".{SERVING_FILE}.{publication_id}.partial"
    connection = duckdb.connect()
    try:
        connection.execute(f"ATTACH {sql_string(str(settings.warehouse_path))} AS warehouse (READ_ONLY)")
        connection.execute(f"ATTACH {sql_string(str(partial))} AS serving (STORAGE_VERSION '{SERVING_STORAGE_VERSION}')")
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
            connection.execute(f"COPY (SELECT * FROM {source}) TO {sql_string(str(release_dir / PARQUET_LINK / f'{table}.parquet'))} (FORMAT parquet)")
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
            "cleaned_stale": cleaned,
        }
        connection.execute(
            f"CREATE TABLE serving.{MARTS_SCHEMA}.publication AS SELECT CAST(? AS VARCHAR) AS publication_id, "
            "CAST(? AS TIMESTAMP) AS published_at, CAST(? AS VARCHAR) AS git_revision, CAST(? AS VARCHAR) AS run_id, "
            "CAST(? AS VARCHAR) AS source_vintages, CAST(? AS VARCHAR) AS row_counts",
            [publication_id, now.replace(tzinfo=None), record["git_revision"], run_id, json.dumps(vintages), json.dumps(row_counts)],
        )
        connection.execute("DETACH serving")
        connection.execute("DETACH warehouse")
        connection.close()
        _write_docs(release_dir / DOCS_LINK, docs_dir, extra_docs or {})
        if postgres is not None and postgres.publish:
            replace_schema(postgres, partial, MARTS_SCHEMA, postgres.publish_schema)
            record["postgres"] = {"target": postgres.describe(), "schema": postgres.publish_schema}
        (release_dir / PUBLICATION_FILE).write_text(json.dumps(record, indent=2))
    except BaseException:
        connection.close()
        partial.unlink(missing_ok=True)
        shutil.rmtree(release_dir, ignore_errors=True)
        raise
    _swap_in(serving_dir, partial, release_dir)
    return record


def _write_docs(target: Path, docs_dir: Path | None, extra_docs: Mapping[str, str]) -> None:
    target.mkdir()
    if docs_dir is not None:
        for path in docs_dir.iterdir():
            if path.is_file():
                shutil.copyfile(path, target / path.name)
    for name, html in extra_docs.items():
        (target / name).write_text(html, encoding="utf-8")


def _swap_link(serving_dir: Path, link_name: str, target: Path) -> None:
    link_tmp = serving_dir / f".{link_name}.partial"
    link_tmp.unlink(missing_ok=True)
    link_tmp.symlink_to(target, target_is_directory=True)
    os.replace(link_tmp, serving_dir / link_name)


def _source_vintages(connection: duckdb.DuckDBPyConnection, tables: list[str]) -> dict:
    if "kpi_annual" not in tables:
        return {}
    rows = connection.execute(
        f"SELECT source_id, min(source_vintage), max(source_vintage) FROM warehouse.{MARTS_SCHEMA}.kpi_annual GROUP BY source_id ORDER BY source_id"
    ).fetchall()
    return {source_id: {"oldest": oldest, "newest": newest} for source_id, oldest, newest in rows}


def _swap_in(serving_dir: Path, partial: Path, release_dir: Path) -> None:
    """Make the new publication current: one rename each for the DuckDB file, the Parquet and docs links."""
    os.replace(partial, serving_dir / SERVING_FILE)
    _swap_link(serving_dir, PARQUET_LINK, Path(RELEASES_DIR) / release_dir.name / PARQUET_LINK)
    if (release_dir / DOCS_LINK).is_dir():
        _swap_link(serving_dir, DOCS_LINK, Path(RELEASES_DIR) / release_dir.name / DOCS_LINK)
    shutil.copyfile(release_dir / PUBLICATION_FILE, serving_dir / f".{PUBLICATION_FILE}.partial")
    os.replace(serving_dir / f".{PUBLICATION_FILE}.partial", serving_dir / PUBLICATION_FILE)
    releases = sorted((p for p in (serving_dir / RELEASES_DIR).iterdir() if p.is_dir()), key=lambda p: p.name)
    for old in releases[:-RELEASES_KEPT]:
        shutil.rmtree(old, ignore_errors=True)


def current_publication(serving_dir: Path) -> dict | None:
    path = serving_dir / PUBLICATION_FILE
    return json.loads(path.read_text()) if path.is_file() else None


def current_release_dir(serving_dir: Path) -> Path | None:
    """The release directory of the current publication (where its Parquet, docs and report live)."""
    link = serving_dir / PARQUET_LINK
    return link.resolve().parent if link.is_symlink() else None


# --- docs published with the data ----------------------------------------------------------------

DOCS_CACHE_DIR = PROJECT_ROOT / "dbt_project" / "target" / "kpi_docs"
DBT_DOCS_FILES = ("index.html", "manifest.json", "catalog.json")


def dbt_docs(settings: Settings, manifest: Path | None = None, cache_dir: Path = DOCS_CACHE_DIR) -> Path:
    """``dbt docs generate`` for the project: index.html (the static, single-file site that opens offline
    from disk), manifest.json and catalog.json, in a directory.

    The docs depend only on the dbt project (manifest) and the tables' columns, which the same project
    always builds alike; so they are generated once per manifest (about 10 s of dbt) and kept in
    ``dbt_project/target/kpi_docs/<manifest sha256>/``.
    """
    import hashlib
    import sys
    import tempfile

    manifest = manifest or PROJECT_ROOT / "dbt_project" / "target" / "manifest.json"
    key = hashlib.sha256(manifest.read_bytes()).hexdigest()[:16]
    cached = cache_dir / key
    if all((cached / name).is_file() for name in DBT_DOCS_FILES):
        return cached
    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{key}.", dir=cache_dir) as tmp:
        target = Path(tmp) / "target"
        target.mkdir()
        shutil.copyfile(manifest, target / "manifest.json")
        partial_parse = manifest.with_name("partial_parse.msgpack")
        if partial_parse.is_file():
            shutil.copyfile(partial_parse, target / "partial_parse.msgpack")
        dbt = Path(sys.executable).with_name("dbt")
        project_dir = PROJECT_ROOT / "dbt_project"
        env = {**os.environ, **settings.dbt_env(), "KPI_DBT_TARGET": "duckdb", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
        result = subprocess.run(
            [str(dbt), "docs", "generate", "--static", "--no-compile", "--quiet", "--project-dir", str(project_dir),
             "--profiles-dir", str(project_dir), "--target-path", str(target), "--log-path", str(Path(tmp) / "logs")],
            cwd=project_dir, env=env, capture_output=True, text=True,
        )
        if result.returncode != 0:
            raise RuntimeError(f"dbt docs generate failed:\n{result.stdout[-4000:]}\n{result.stderr[-2000:]}")
        ready = Path(tmp) / "docs"
        ready.mkdir()
        shutil.copyfile(target / "static_index.html", ready / "index.html")
        shutil.copyfile(target / "manifest.json", ready / "manifest.json")
        shutil.copyfile(target / "catalog.json", ready / "catalog.json")
        try:
            os.rename(ready, cached)
        except OSError:  # another process cached the same docs first
            if not cached.is_dir():
                raise
    return cached


STATUS_RANK = {"failed": 0, "warning": 1, "not run": 2, "passed": 4}
STATUS_LABEL = {"failed": "FAILED", "warning": "WARNING", "not run": "NOT RUN", "passed": "passed"}


def on_failure_text(severity: str) -> str:
    """What the check does when it fails: a check's severity says that, not how it went."""
    return {"ERROR": "blocks publishing", "WARN": "warns only"}.get(str(severity).upper(), str(severity) or "–")


def validation_summary_html(checks: list[dict], publication_note: str = "") -> str:
    """The last validation's results as one HTML page: every GX suite and dbt test, passed or not.

    ``checks``: dicts with asset, check, status (passed/failed/warning/not run/...), severity (ERROR or
    WARN: what a failure does) and details (text). What needs attention (failures, then warnings, then
    checks that did not run) is labelled and listed first; the table fits the page's width.
    """
    import html

    def rank(check: dict) -> tuple:
        return (STATUS_RANK.get(check["status"], 3), check["asset"], check["check"])

    def cells(c: dict) -> str:
        status = c["status"]
        return ("<tr class='{cls}'><td>{asset}</td><td>{check}</td><td>{status}</td><td>{on_failure}</td><td>{details}</td></tr>".format(
            cls={"passed": "ok", "warning": "warn"}.get(status, "bad"),
            on_failure=html.escape(on_failure_text(c.get("severity", ""))),
            **{k: html.escape(str(c.get(k, ""))) for k in ("asset", "check", "status", "details")}))

    ordered = sorted(checks, key=rank)
    attention = [c for c in ordered if c["status"] != "passed"]
    counts = {status: sum(1 for c in checks if c["status"] == status) for status in ("passed", "warning", "failed")}
    others = len(checks) - sum(counts.values())
    summary = (f"{len(checks)} checks: {counts['passed']} passed, {counts['warning']} warning{'' if counts['warning'] == 1 else 's'}, "
               f"{counts['failed']} failed"
               + (f", {others} not run" if others else "") + ".")
    if attention:
        items = "".join(
            f"<li class='{ {'warning': 'warn'}.get(c['status'], 'bad') }'><b>{STATUS_LABEL.get(c['status'], html.escape(c['status'].upper()))}</b> "
            f"<code>{html.escape(c['check'])}</code> on <code>{html.escape(c['asset'])}</code>"
            f" ({html.escape(on_failure_text(c.get('severity', '')))}){': ' + html.escape(str(c['details'])) if c.get('details') else ''}</li>"
            for c in attention)
        attention_html = f"<h2>Needs attention ({len(attention)})</h2><ul class='attention'>{items}</ul>"
    else:
        attention_html = "<p class='all-passed'>Every check passed.</p>"
    rows = "\n".join(cells(c) for c in ordered)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>KPI warehouse: last validation</title>
<meta name="viewport" content="width=device-width,initial-scale=1">
<style>body{{font-family:system-ui,sans-serif;margin:1.5em;color:#1d2430}}h1{{font-size:22px}}h2{{font-size:17px}}
table{{border-collapse:collapse;width:100%;table-layout:fixed;font-size:13px}}
td,th{{border:1px solid #ccc;padding:4px 6px;text-align:left;vertical-align:top;overflow-wrap:anywhere}}
col.asset{{width:25%}}col.check{{width:33%}}col.status{{width:10%}}col.failure{{width:12%}}col.details{{width:20%}}
td:nth-child(3),td:nth-child(4){{overflow-wrap:normal}}
tr.ok td:nth-child(3){{color:#1a7f37}}tr.warn td{{background:#fff8e1}}tr.warn td:nth-child(3){{color:#9a6700;font-weight:bold}}
tr.bad td{{background:#fdecea}}tr.bad td:nth-child(3){{color:#b42318;font-weight:bold}}tr.ok td:nth-child(4){{color:#6b7480}}
ul.attention li{{margin:4px 0;overflow-wrap:anywhere}}li.warn b{{color:#9a6700}}li.bad b{{color:#b42318}}.all-passed{{color:#1a7f37}}</style></head>
<body><h1>Last validation</h1>
<p>{summary} Great Expectations suites on every load, dbt tests on every model. A check that "blocks publishing"
stops the publication when it fails; one that "warns only" is reported here and the publication goes ahead.
{html.escape(publication_note)}</p>
{attention_html}
<h2>Every check</h2>
<table><colgroup><col class="asset"><col class="check"><col class="status"><col class="failure"><col class="details"></colgroup>
<thead><tr><th>asset</th><th>check</th><th>status</th><th>on failure</th><th>details</th></tr></thead>
<tbody>
{rows}
</tbody></table></body></html>
"""
