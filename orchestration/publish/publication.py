"""Publishing: the marts, their Parquet files, docs, report and record, as ONE unit for BI tools.

BI tools only ever open the serving directory, never the warehouse. Each publication is built
whole in a directory of its own, then made current by ONE rename::

    KPI_SERVING_DIR/
      releases/<publication_id>/   kpi.duckdb (storage v1.0.0), parquet/<mart>.parquet (only Parquet),
                                   docs/ (dbt docs, validation.html, data_docs/: GX Data Docs),
                                   kpi_report.html, publication.json
      current -> releases/<publication_id>             the single pointer, swapped by a rename
      kpi.duckdb -> current/kpi.duckdb, parquet -> current/parquet, docs -> current/docs,
      kpi_report.html -> current/kpi_report.html, publication.json -> current/publication.json
      rejected/<publication_id>/   candidates the audit refused, with audit.json (the newest few)

A reader that resolves a stable name gets one publication's file, whole; the files of one
publication switch together. Before the switch the candidate is audited against the live
publication (``orchestration.publish.audit``): a series that loses years or a mart that loses rows is not
published unless the run was told to accept it. What a killed publish leaves (an unfinished
release directory, ``.partial`` links) is never reachable from the stable names, and the next
publish removes it.

The candidate's tables come from the warehouse of either engine (``Warehouse.copy_schema_into``:
DuckDB, or PostgreSQL with ``KPI_WAREHOUSE=postgres``); from there on publishing is the same.
With ``KPI_PUBLISH_POSTGRES=1`` (orchestration/core/postgres.py) the same tables also replace the
PostgreSQL schema ``marts`` in one transaction, before the local switch: if PostgreSQL fails,
nothing is switched and both keep the previous publication.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Callable, Collection, Mapping
from pathlib import Path

import duckdb

from orchestration.publish.audit import AuditFinding, audit_candidate, describe_findings
from orchestration.check.validation import build_data_docs
from orchestration.core.errors import KpiWarehouseError
from orchestration.core.postgres import PostgresTarget, replace_schema
from orchestration.core.settings import PROJECT_ROOT, Settings
from orchestration.core.sql import identifier, sql_string
from orchestration.load.engines import warehouse_for
from orchestration.core.version import project_version

SERVING_FILE = "kpi.duckdb"
PARQUET_DIR = "parquet"
DOCS_DIR = "docs"
# the GX Data Docs site (every stored validation result) inside a release's docs/, and its front page
DATA_DOCS_DIR = "data_docs"
DATA_DOCS_PAGE = f"{DATA_DOCS_DIR}/index.html"
REPORT_FILE = "kpi_report.html"
PUBLICATION_FILE = "publication.json"
AUDIT_FILE = "audit.json"
CURRENT_LINK = "current"
RELEASES_DIR = "releases"
REJECTED_DIR = "rejected"
# the names BI tools use: each a link through ``current``, so they all switch with it
STABLE_NAMES = (SERVING_FILE, PARQUET_DIR, DOCS_DIR, REPORT_FILE, PUBLICATION_FILE)
RELEASES_KEPT = 3  # the current publication and the two before it (readers may still hold them open)
REJECTED_KEPT = 3
MARTS_SCHEMA = "marts"
SERVING_STORAGE_VERSION = "v1.0.0"
ACCEPT_SHRINK_TAG = "kpi/accept_shrink"


class PublicationRejected(KpiWarehouseError):
    """The candidate failed the audit against the live publication; nothing was switched."""

    def __init__(self, message: str, findings: list[AuditFinding], candidate_dir: Path):
        super().__init__(message)
        self.findings = findings
        self.candidate_dir = candidate_dir


def git_revision() -> str:
    try:
        result = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return result.stdout.strip() if result.returncode == 0 else "unknown"


def new_publication_id(now: dt.datetime) -> str:
    return f"{now:%Y%m%dT%H%M%S%fZ}-{uuid.uuid4().hex[:6]}"


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def clean_stale(serving_dir: Path) -> list[str]:
    """Remove what a killed publish left: ``.partial`` entries, and release directories that never
    became current (unfinished, or finished after the current one but never switched in)."""
    removed: list[str] = []
    if not serving_dir.is_dir():
        return removed
    for path in serving_dir.iterdir():
        if path.name.startswith(".") and ".partial" in path.name:
            _remove(path)
            removed.append(path.name)
    current = current_release_dir(serving_dir)
    releases = serving_dir / RELEASES_DIR
    if releases.is_dir():
        for release in sorted(releases.iterdir()):
            if release == current or not release.is_dir():
                continue
            finished = (release / PUBLICATION_FILE).is_file()
            if not finished or (current is not None and release.name > current.name):
                shutil.rmtree(release, ignore_errors=True)
                removed.append(f"{RELEASES_DIR}/{release.name}")
    return sorted(removed)


def _build_candidate(settings: Settings, release_dir: Path, publication_id: str, now: dt.datetime,
                     run_id: str | None) -> tuple[dict, dict]:
    """The marts copied into ``release_dir``: kpi.duckdb (storage v1.0.0) and parquet/<mart>.parquet.
    Returns (row counts, source vintages)."""
    parquet_dir = release_dir / PARQUET_DIR
    parquet_dir.mkdir()
    candidate = release_dir / SERVING_FILE
    warehouse = warehouse_for(settings)
    with duckdb.connect() as connection:
        connection.execute(f"ATTACH {sql_string(str(candidate))} AS serving (STORAGE_VERSION '{SERVING_STORAGE_VERSION}')")
        # the marts of either engine, copied into the candidate file: from here on, one path
        tables = warehouse.copy_schema_into(connection, MARTS_SCHEMA, "serving")
        if not tables:
            raise RuntimeError(f"the warehouse {warehouse.describe()} has no tables in schema {MARTS_SCHEMA}: nothing to publish")
        row_counts = {}
        for table in tables:
            target = f"serving.{MARTS_SCHEMA}.{identifier(table)}"
            connection.execute(f"COPY (SELECT * FROM {target}) TO {sql_string(str(parquet_dir / f'{table}.parquet'))} (FORMAT parquet)")
            row_counts[table] = connection.execute(f"SELECT count(*) FROM {target}").fetchone()[0]
        vintages = _source_vintages(connection, tables)
        connection.execute(
            f"CREATE TABLE serving.{MARTS_SCHEMA}.publication AS SELECT CAST(? AS VARCHAR) AS publication_id, "
            "CAST(? AS TIMESTAMP) AS published_at, CAST(? AS VARCHAR) AS git_revision, CAST(? AS VARCHAR) AS run_id, "
            "CAST(? AS VARCHAR) AS source_vintages, CAST(? AS VARCHAR) AS row_counts, CAST(? AS VARCHAR) AS version",
            [publication_id, now.replace(tzinfo=None), git_revision(), run_id, json.dumps(vintages), json.dumps(row_counts),
             project_version()],
        )
        connection.execute("DETACH serving")
    return row_counts, vintages


def _write_report(release_dir: Path) -> dict:
    """The KPI report of the candidate, and the page its values link to (docs/kpi_lineage.html: where
    each value comes from), written into its release before the switch."""
    from orchestration.publish.explain import write_lineage_page
    from orchestration.publish.report import build_report, fetch_report_data  # the report imports this module

    with duckdb.connect(str(release_dir / SERVING_FILE), read_only=True) as connection:
        report = build_report(fetch_report_data(connection))
        lineage_page = write_lineage_page(connection, release_dir / DOCS_DIR, release_dir.name)
    (release_dir / REPORT_FILE).write_text(report.html, encoding="utf-8")
    return {"file": REPORT_FILE, "charts": report.charts, "lineage_page": f"{DOCS_DIR}/{lineage_page}" if lineage_page else None}


def publish(settings: Settings, run_id: str | None = None, docs_dir: Path | None = None,
            extra_docs: Mapping[str, str] | None = None, postgres: PostgresTarget | None = None,
            accept_shrink: bool = False, warehouse_load_seq: int = 0, transform_fingerprint: str | None = None,
            transform_attempt: int | None = None, defined_marts: Collection[str] | None = None,
            log: Callable[[str], None] = print) -> dict:
    """Build a publication of every table of the warehouse's marts schema, audit it against the live
    one, and make it current (see the module's docstring). Returns its record.

    ``docs_dir``: files (dbt docs) copied into the release's ``docs/``; ``extra_docs``: more pages for
    it, name -> HTML. ``postgres``: when its ``publish`` is set, the marts also replace its schema.
    ``accept_shrink``: publish even when the audit finds lost years or rows (a deliberate change).
    ``warehouse_load_seq``, ``transform_fingerprint`` and ``transform_attempt`` (the dbt build's number,
    ``meta.transform_attempts``) are recorded: what the publication includes.
    ``defined_marts``: the marts the dbt project defines; a live one missing from the candidate and not
    among them was removed from the project on purpose, not lost (None: every live mart must stay).
    Raises ``PublicationRejected`` (nothing switched; the candidate kept under ``rejected/``).
    """
    now = dt.datetime.now(dt.timezone.utc)
    publication_id = new_publication_id(now)
    serving_dir = settings.serving_dir
    serving_dir.mkdir(parents=True, exist_ok=True)
    cleaned = clean_stale(serving_dir)
    release_dir = serving_dir / RELEASES_DIR / publication_id
    release_dir.mkdir(parents=True)
    try:
        row_counts, vintages = _build_candidate(settings, release_dir, publication_id, now, run_id)
        _write_docs(release_dir / DOCS_DIR, docs_dir, extra_docs or {}, build_data_docs(settings.validation_dir))
        report = _write_report(release_dir)
        live = current_release_dir(serving_dir) or (serving_dir if (serving_dir / SERVING_FILE).is_file() else None)
        findings = audit_candidate(live / SERVING_FILE, release_dir / SERVING_FILE, defined_marts) if live is not None else []
        record = {
            "publication_id": publication_id,
            "published_at": now.isoformat(timespec="seconds"),
            "version": project_version(),
            "git_revision": git_revision(),
            "run_id": run_id,
            "source_vintages": vintages,
            "row_counts": row_counts,
            "storage_version": SERVING_STORAGE_VERSION,
            "warehouse_load_seq": warehouse_load_seq,
            "transform_fingerprint": transform_fingerprint,
            "transform_attempt": transform_attempt,
            "audit": {"findings": [finding.describe() for finding in findings], "accepted": bool(findings) and accept_shrink},
            "report": report,
            "cleaned_stale": cleaned,
        }
        if findings and not accept_shrink:
            rejected = _reject(serving_dir, release_dir, record, findings)
            raise PublicationRejected(
                f"publication audit failed; the live publication is unchanged and the candidate is kept in {rejected}: "
                f"{describe_findings(findings)}. If this change is deliberate, publish with --accept-shrink "
                f"(CLI) or the run tag {ACCEPT_SHRINK_TAG}=true.", findings, rejected)
        if findings:
            log(f"publication audit: accepted as asked: {describe_findings(findings)}")
        if postgres is not None and postgres.publish:
            publishing = postgres.publishing()
            replace_schema(publishing, release_dir / SERVING_FILE, MARTS_SCHEMA, postgres.publish_schema)
            record["postgres"] = {"target": publishing.describe(), "schema": postgres.publish_schema,
                                  "reader_roles": list(postgres.reader_roles)}
        _write_atomically(release_dir / PUBLICATION_FILE, json.dumps(record, indent=2))
    except PublicationRejected:
        raise
    except BaseException:
        shutil.rmtree(release_dir, ignore_errors=True)
        raise
    try:
        _switch(serving_dir, release_dir)
    except BaseException:
        if current_release_dir(serving_dir) != release_dir.resolve():  # never became current: not a publication
            shutil.rmtree(release_dir, ignore_errors=True)
        raise
    _keep_newest(serving_dir / RELEASES_DIR, RELEASES_KEPT, keep=release_dir)
    return record


def _reject(serving_dir: Path, release_dir: Path, record: dict, findings: list[AuditFinding]) -> Path:
    rejected_dir = serving_dir / REJECTED_DIR
    rejected_dir.mkdir(exist_ok=True)
    target = rejected_dir / release_dir.name
    os.replace(release_dir, target)
    _write_atomically(target / AUDIT_FILE, json.dumps(
        {**record, "findings": [finding.as_dict() for finding in findings]}, indent=2, default=str))
    _keep_newest(rejected_dir, REJECTED_KEPT, keep=target)
    return target


def _write_atomically(path: Path, text: str) -> None:
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)


def _write_docs(target: Path, docs_dir: Path | None, extra_docs: Mapping[str, str], data_docs: Path | None = None) -> None:
    target.mkdir()
    if data_docs is not None and (data_docs / "index.html").is_file():
        shutil.copytree(data_docs, target / DATA_DOCS_DIR)  # the GX results the loads stored, as their Data Docs
    if docs_dir is not None:
        for path in docs_dir.iterdir():
            if path.is_file():
                shutil.copyfile(path, target / path.name)
    for name, html in extra_docs.items():
        (target / name).write_text(html, encoding="utf-8")


def _point(link: Path, target: Path) -> None:
    """Make ``link`` a symlink to ``target`` with one rename (readers see the old or the new)."""
    if link.is_symlink() and Path(os.readlink(link)) == target:
        return
    if link.is_dir() and not link.is_symlink():  # a directory of a layout before this one
        os.replace(link, link.with_name(f".{link.name}.partial-old-layout"))
    partial = link.with_name(f".{link.name}.partial")
    partial.unlink(missing_ok=True)
    partial.symlink_to(target)
    os.replace(partial, link)


def _switch(serving_dir: Path, release_dir: Path) -> None:
    """The one step that makes a publication current: ``current`` renamed to point at it. The stable
    names already point through ``current`` (made once; re-made after a layout change)."""
    _point(serving_dir / CURRENT_LINK, Path(RELEASES_DIR) / release_dir.name)
    for name in STABLE_NAMES:
        _point(serving_dir / name, Path(CURRENT_LINK) / name)


def _keep_newest(directory: Path, count: int, keep: Path) -> None:
    entries = sorted((p for p in directory.iterdir() if p.is_dir() and not p.is_symlink()), key=lambda p: p.name)
    for old in entries[:-count]:
        if old != keep:
            shutil.rmtree(old, ignore_errors=True)


def _source_vintages(connection: duckdb.DuckDBPyConnection, tables: list[str]) -> dict:
    if "kpi_annual" not in tables:
        return {}
    rows = connection.execute(
        f"SELECT source_id, min(source_vintage), max(source_vintage) FROM serving.{MARTS_SCHEMA}.kpi_annual GROUP BY source_id ORDER BY source_id"
    ).fetchall()
    return {source_id: {"oldest": oldest, "newest": newest} for source_id, oldest, newest in rows}


def current_publication(serving_dir: Path) -> dict | None:
    path = serving_dir / PUBLICATION_FILE
    return json.loads(path.read_text()) if path.is_file() else None


def current_release_dir(serving_dir: Path) -> Path | None:
    """The release directory of the current publication (where its data, Parquet, docs and report live)."""
    link = serving_dir / CURRENT_LINK
    return link.resolve() if link.is_symlink() and link.resolve().is_dir() else None


def outdated_publication(serving_dir: Path) -> str | None:
    """Why the live publication was not made by this version (None: it was, or there is none):
    after an upgrade, the next run rebuilds and publishes with this version's models."""
    publication = current_publication(serving_dir)
    if publication is None or publication.get("version") == project_version():
        return None
    made_by = publication.get("version")
    return (f"the live publication was made by {f'version {made_by}' if made_by else 'a version before 0.2.0'}, "
            f"this is {project_version()}")


def published_load_seq(serving_dir: Path) -> int:
    """The last warehouse load the live publication includes (0: none, or a publication from before the ledger had numbers)."""
    record = current_publication(serving_dir)
    return int((record or {}).get("warehouse_load_seq") or 0)


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
    # the catalog's column types are the engine's own
    key = hashlib.sha256(manifest.read_bytes() + settings.dbt_target.encode()).hexdigest()[:16]
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
        env = {**os.environ, **settings.dbt_env(), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
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


STATUS_RANK = {"failed": 0, "warning": 1, "not run": 2, "skipped": 4, "passed": 5}
STATUS_LABEL = {"failed": "FAILED", "warning": "WARNING", "not run": "NOT RUN", "skipped": "skipped", "passed": "passed"}
# checks a build did not rerun because their models were not rebuilt (inputs unchanged): their
# last result still describes the data, so they are listed, not flagged
NOT_FLAGGED = ("passed", "skipped")


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
            cls={"passed": "ok", "warning": "warn", "skipped": "skip"}.get(status, "bad"),
            on_failure=html.escape(on_failure_text(c.get("severity", ""))),
            **{k: html.escape(str(c.get(k, ""))) for k in ("asset", "check", "status", "details")}))

    ordered = sorted(checks, key=rank)
    # a skipped check is flagged when it did not pass the last time it ran
    attention = [c for c in ordered if c["status"] not in NOT_FLAGGED or (c["status"] == "skipped" and c.get("last") != "passed")]
    counts = {status: sum(1 for c in checks if c["status"] == status) for status in ("passed", "warning", "failed", "skipped")}
    others = len(checks) - sum(counts.values())
    summary = (f"{len(checks)} checks: {counts['passed']} passed, {counts['warning']} warning{'' if counts['warning'] == 1 else 's'}, "
               f"{counts['failed']} failed"
               + (f", {counts['skipped']} skipped (not rerun: their models were not rebuilt, their inputs did not change; "
                  "the last result is shown)" if counts["skipped"] else "")
               + (f", {others} not run" if others else "") + ".")
    if attention:
        items = "".join(
            f"<li class='{ {'warning': 'warn'}.get(c['status'], 'bad') }'><b>{STATUS_LABEL.get(c['status'], html.escape(c['status'].upper()))}</b> "
            f"<code>{html.escape(c['check'])}</code> on <code>{html.escape(c['asset'])}</code>"
            f" ({html.escape(on_failure_text(c.get('severity', '')))}){': ' + html.escape(str(c['details'])) if c.get('details') else ''}</li>"
            for c in attention)
        attention_html = f"<h2>Needs attention ({len(attention)})</h2><ul class='attention'>{items}</ul>"
    else:
        attention_html = ("<p class='all-passed'>Every check that ran passed; the skipped ones passed when they last ran.</p>"
                          if counts["skipped"] else "<p class='all-passed'>Every check passed.</p>")
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
tr.skip td{{color:#6b7480}}tr.bad td{{background:#fdecea}}tr.bad td:nth-child(3){{color:#b42318;font-weight:bold}}tr.ok td:nth-child(4){{color:#6b7480}}
ul.attention li{{margin:4px 0;overflow-wrap:anywhere}}li.warn b{{color:#9a6700}}li.bad b{{color:#b42318}}.all-passed{{color:#1a7f37}}</style></head>
<body><h1>Last validation</h1>
<p>{summary} Great Expectations suites on every load, dbt tests on every model. A check that "blocks publishing"
stops the publication when it fails; one that "warns only" is reported here and the publication goes ahead.
{html.escape(publication_note)}</p>
<p>Every stored Great Expectations result, expectation by expectation: <a href="{DATA_DOCS_PAGE}">Data Docs</a>.</p>
{attention_html}
<h2>Every check</h2>
<table><colgroup><col class="asset"><col class="check"><col class="status"><col class="failure"><col class="details"></colgroup>
<thead><tr><th>asset</th><th>check</th><th>status</th><th>on failure</th><th>details</th></tr></thead>
<tbody>
{rows}
</tbody></table></body></html>
"""
