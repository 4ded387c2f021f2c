"""The pipeline's own load, transform and publish code, driven in-process on a small warehouse.

For the path-independence property (tests/integration/test_path_independence.py), which runs
dozens of random sequences of full builds, daily runs, backfills, kills and new releases: a
Dagster run with dbt costs 20-60 s, this costs about a second.

- load: ``orchestration.load.step.run_load``, the function the loading asset calls (parses are
  memoised per release set; validation is the GX suites' job and is tested elsewhere, so a
  pass-through validator keeps the sequences fast);
- transform: the dbt project's compiled SQL on DuckDB, as bench/floor.py runs it, for the models
  dbt's own ``source:<name>+`` selection picks (``orchestration.transform.plan.source_selection``)
  and the range of years from ``orchestration.transform.plan.incremental_range`` (as the dbt asset)
  and the ``replace_range`` strategy of dbt_project/macros/incremental_years.sql (delete the range,
  insert the batch's rows of the range); then ``record_transform_build``, as the dbt asset does;
- publish: ``orchestration.publish.publication.publish``, the function the publishing asset calls.

``Kill`` raises at a chosen point (between sources, between models, inside publishing), as a
process killed there would stop: DuckDB transactions roll back, files already renamed stay.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from bench.floor import WAREHOUSE_FILE, compile_manifest, load_seeds, models_in_build_order
from orchestration.config import load_settings
from orchestration.publish import publication as publishing
from orchestration.transform.manifest import project_fingerprint
from orchestration.load.step import SKIP, run_load
from orchestration.platform.jobs import SOURCES
from orchestration.publish.publication import current_publication, published_load_seq
from orchestration.core.settings import DBT_PROJECT_DIR, Settings
from orchestration.core.sql import identifier
from orchestration.transform.dbt_runner import list_nodes
from orchestration.transform.plan import changed_sources, incremental_range, source_selection
from orchestration.check.validation import ValidationReport
from orchestration.load.warehouse import last_load_seq, last_transform_build, load_history, record_source_contracts, record_transform_build
from orchestration.transform.contracts import source_contract_rows

MIN_PLACEHOLDER, MAX_PLACEHOLDER = "__KPI_MIN_YEAR__", "__KPI_MAX_YEAR__"
COMPILED_MANIFEST = Path("dbt_compile") / "target" / "manifest.json"  # where bench.floor.compile_manifest writes it


class Killed(Exception):
    """The run stopped here, as if its process had been killed."""


PHASES = ("load", "transform", "publish")


@dataclass
class Kill:
    """Raise ``Killed`` at the ``at``-th kill point reached in ``phase`` (None: never)."""

    phase: str | None = None
    at: int = 1
    reached: dict = field(default_factory=dict)

    def point(self, phase: str, where: str) -> None:
        self.reached[phase] = self.reached.get(phase, 0) + 1
        if phase == self.phase and self.reached[phase] == self.at:
            raise Killed(where)


def passing_validator(dataset, frame) -> ValidationReport:
    return ValidationReport(dataset, f"{dataset}.json", len(frame), 0, ())


@dataclass
class CompiledProject:
    """Every model's SQL, as dbt compiles it for a first build and for an incremental run."""

    manifest: dict
    incremental_sql: dict[str, str]  # unique_id -> compiled SQL of the incremental run, range placeholders
    fingerprint: str = field(default_factory=project_fingerprint)

    @property
    def models(self) -> list[dict]:
        return models_in_build_order(self.manifest)


def _incremental_models(manifest: dict) -> list[dict]:
    return [node for node in manifest["nodes"].values()
            if node["resource_type"] == "model" and node["config"]["materialized"] == "incremental"]


INCREMENTAL_COMPILE_DIR = "dbt_compile_incremental"


def compile_project(work_dir: Path) -> CompiledProject:
    """Compile the project twice into ``work_dir``: against an empty warehouse (first builds) and
    against one where the incremental facts exist (their incremental SQL, with placeholders for
    the range). ``load_compiled_project(work_dir)`` reads it again (in another process, too)."""
    manifest = json.loads(compile_manifest(work_dir).read_text())
    incremental = _incremental_models(manifest)
    compile_dir = work_dir / INCREMENTAL_COMPILE_DIR
    shutil.rmtree(compile_dir, ignore_errors=True)
    compile_dir.mkdir(parents=True)
    with duckdb.connect(str(compile_dir / WAREHOUSE_FILE)) as conn:
        for node in incremental:  # is_incremental() asks only whether the relation exists
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {identifier(node['schema'])}")
            conn.execute(f"CREATE TABLE {node['relation_name']} (placeholder INTEGER)")
    env = {**os.environ, "KPI_WAREHOUSE_PATH": str(compile_dir / WAREHOUSE_FILE), "KPI_DBT_TARGET": "duckdb",
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    result = subprocess.run(
        [str(Path(sys.executable).with_name("dbt")), "compile", "--quiet", "--select", "tag:incremental",
         "--vars", json.dumps({"min_year": MIN_PLACEHOLDER, "max_year": MAX_PLACEHOLDER}),
         "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
         "--target-path", str(compile_dir / "target"), "--log-path", str(compile_dir / "logs")],
        cwd=DBT_PROJECT_DIR, env=env, capture_output=True, text=True,
    )
    if result.returncode != 0:
        raise RuntimeError(f"dbt compile (incremental) failed:\n{result.stdout[-4000:]}\n{result.stderr[-2000:]}")
    return load_compiled_project(work_dir)


def load_compiled_project(work_dir: Path) -> CompiledProject:
    """The project as ``compile_project`` compiled it into ``work_dir``."""
    manifest = json.loads((work_dir / COMPILED_MANIFEST).read_text())
    compiled = json.loads((work_dir / INCREMENTAL_COMPILE_DIR / "target" / "manifest.json").read_text())["nodes"]
    incremental_sql = {node["unique_id"]: compiled[node["unique_id"]]["compiled_code"] for node in _incremental_models(manifest)}
    assert all(MIN_PLACEHOLDER in sql for sql in incremental_sql.values()), "incremental SQL without the range filter"
    return CompiledProject(manifest, incremental_sql)


def _exists(conn: duckdb.DuckDBPyConnection, node: dict) -> bool:
    return conn.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = ? AND table_name = ?",
                        [node["schema"], node["alias"]]).fetchone()[0] > 0


def _build_incremental(conn: duckdb.DuckDBPyConnection, node: dict, sql: str, years: tuple[int, int] | None) -> None:
    """dbt's incremental materialization with the project's replace_range strategy."""
    first, last = years if years is not None else (1, 0)  # dbt_vars(None): an empty range
    batch = sql.replace(MIN_PLACEHOLDER, str(first)).replace(MAX_PLACEHOLDER, str(last))
    column = identifier(node["config"]["meta"]["range_column"])
    columns = ", ".join(identifier(name) for (name,) in conn.execute(
        "SELECT column_name FROM duckdb_columns() WHERE schema_name = ? AND table_name = ? ORDER BY column_index",
        [node["schema"], node["alias"]]).fetchall())
    conn.execute("BEGIN TRANSACTION")
    conn.execute(f"DELETE FROM {node['relation_name']} WHERE {column} BETWEEN ? AND ?", [first, last])
    conn.execute(f"INSERT INTO {node['relation_name']} ({columns}) SELECT {columns} FROM ({batch}) AS batch "
                 f"WHERE {column} BETWEEN ? AND ?", [first, last])
    conn.execute("COMMIT")


@functools.cache
def _downstream_of(sources: frozenset[str] | None) -> frozenset[str] | None:
    """What dbt's ``source:<name>+`` selects for these sources (None: everything), as the dbt asset passes it."""
    return None if sources is None else frozenset(list_nodes(source_selection(sources), ("model", "seed", "snapshot")))


def transform(settings: Settings, project: CompiledProject, run_range: tuple[int, int] | None, kill: Kill) -> None:
    """What the dbt asset does, with the compiled SQL in place of dbt's runtime."""
    publication = current_publication(settings.serving_dir)
    pending = load_history(settings.warehouse_path, after_seq=published_load_seq(settings.serving_dir))
    load_seq = last_load_seq(settings.warehouse_path)
    years = incremental_range(publication, pending, run_range, project.fingerprint, (settings.first_year, settings.last_year))
    # the models downstream of the sources that changed, as the dbt asset selects them (None: all)
    rebuild = _downstream_of(changed_sources(publication, pending, project.fingerprint, {spec.name for spec in SOURCES}))
    record_source_contracts(settings.warehouse_path, source_contract_rows(SOURCES))
    with duckdb.connect(str(settings.warehouse_path)) as conn:
        if rebuild is None:
            load_seeds(conn, project.manifest)
        for node in project.models:
            if rebuild is not None and node["unique_id"] not in rebuild:
                continue
            kill.point("transform", f"transform before {node['name']}")
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {identifier(node['schema'])}")
            materialized = node["config"]["materialized"]
            if materialized == "incremental" and _exists(conn, node):
                _build_incremental(conn, node, project.incremental_sql[node["unique_id"]], years)
            else:
                kind = "VIEW" if materialized == "view" else "TABLE"
                conn.execute(f"CREATE OR REPLACE {kind} {node['relation_name']} AS {node['compiled_code']}")
    record_transform_build(settings.warehouse_path, load_seq, project.fingerprint, None, years)


def publish(settings: Settings, kill: Kill, run_id: str) -> dict:
    """What the publishing step does (no dbt docs: they depend on the project, not on the data)."""
    build = last_transform_build(settings.warehouse_path) or {}
    original_switch, original_report = publishing._switch, publishing._write_report

    def report_then_maybe_die(release_dir):
        kill.point("publish", "publish: candidate built, before the report")
        written = original_report(release_dir)
        kill.point("publish", "publish: report written, before the audit and the switch")
        return written

    def switch_then_maybe_die(serving_dir, release_dir):
        original_switch(serving_dir, release_dir)
        kill.point("publish", "publish: switched, before old releases are pruned")

    publishing._switch, publishing._write_report = switch_then_maybe_die, report_then_maybe_die
    try:
        return publishing.publish(settings, run_id=run_id, accept_shrink=True, log=lambda message: None,
                                  warehouse_load_seq=build.get("load_seq", 0),
                                  transform_fingerprint=build.get("transform_fingerprint"))
    finally:
        publishing._switch, publishing._write_report = original_switch, original_report


@dataclass
class Engine:
    """Runs the operations of a sequence on one warehouse and serving directory."""

    settings: Settings
    project: CompiledProject
    parse_cache: dict = field(default_factory=dict)
    runs: int = 0

    def _parse(self, spec):
        def parse(landings, settings):
            key = (spec.name, tuple(sorted(landing.sha256 for landing in landings)), settings.countries)
            if key not in self.parse_cache:
                self.parse_cache[key] = spec.parse(landings, settings)
            return {name: frame.copy() for name, frame in self.parse_cache[key].items()}
        return parse

    def run(self, years: tuple[int, int], forced: bool, kill: Kill | None = None) -> bool:
        """A full build or backfill (``forced``) or a daily run; True when it published."""
        kill = kill or Kill()
        self.runs += 1
        run_id = f"engine-{self.runs}"
        published_seq = published_load_seq(self.settings.serving_dir)
        changed = False
        for spec in SOURCES:
            kill.point("load", f"load: before {spec.name}")
            outcome = run_load(spec, self.settings, years, forced, published_seq, run_id=run_id, log=lambda message: None,
                               validate=passing_validator, parse=self._parse(spec))
            assert not outcome.failed
            changed |= outcome.plan.action != SKIP
        if not (forced or changed):
            return False
        transform(self.settings, self.project, years, kill)
        kill.point("publish", "publish: before it starts")
        publish(self.settings, kill, run_id)
        return True


def engine_settings(root: Path, snapshot_dir: Path, countries: tuple[str, ...] | None = None) -> Settings:
    env = {
        "KPI_SOURCE_MODE": "replay", "KPI_SNAPSHOT_DIR": str(snapshot_dir),
        "KPI_WAREHOUSE_PATH": str(root / "warehouse" / WAREHOUSE_FILE), "KPI_SERVING_DIR": str(root / "serving"),
        "KPI_LANDING_DIR": str(root / "landing"), "KPI_LOG_DIR": str(root / "logs"),
    }
    if countries:
        env["KPI_COUNTRIES"] = ",".join(countries)
    return load_settings(env)


def published_marts(serving_dir: Path) -> dict[str, list[tuple]]:
    """Every published mart, rows sorted, floats to 10 significant digits (sums in another row order
    differ in the last bits), without the publication's own record."""
    def plain(value):
        if isinstance(value, float):
            return float(f"{value:.10g}")
        if isinstance(value, (dt.date, dt.datetime)):
            return value.isoformat()
        return value

    with duckdb.connect(str(serving_dir / publishing.SERVING_FILE), read_only=True) as conn:
        tables = [name for (name,) in conn.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts' AND table_name <> 'publication' ORDER BY 1"
        ).fetchall()]
        return {table: sorted((tuple(plain(v) for v in row) for row in conn.execute(f"SELECT * FROM marts.{identifier(table)}").fetchall()),
                              key=repr)
                for table in tables}
