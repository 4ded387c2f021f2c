"""The floor: the pipeline's own parsing and SQL in ONE process, straight on DuckDB.

No Dagster, no dbt at run time, no Great Expectations: what is left is the work the pipeline cannot
avoid, so ``pipeline seconds / floor seconds`` says how much the orchestration costs.

1. parse: every source module's ``SPEC.parse`` on the snapshot's landings, and its ``check_frames``
   (the reconciliations the pipeline validates beside the loads);
2. load: ``orchestration.load.warehouse.load_source`` (the pipeline's DuckDB loader) into
   ``<work>/kpi.duckdb`` (the name matters: the compiled SQL refers to the catalog ``kpi``);
3. sql: the dbt seeds read with ``read_csv``, every model's compiled SQL as ``CREATE OR REPLACE
   TABLE|VIEW`` in dependency order (incremental models as full tables), every data test's
   compiled SQL counted;
4. publish: the marts copied into a new serving file (storage v1.0.0) and to Parquet, as
   orchestration/publish/publication.py does (without docs, which it caches per manifest).

The dbt project is compiled once, before timing starts (``dbt compile``; ~15 s).

Run by hand:

    .venv/bin/python -m bench.floor                          # the bundled snapshot, default countries
    .venv/bin/python -m bench.floor --snapshot DIR --countries HND,GTM --json
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make `bench` and `orchestration` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import duckdb

from bench.common import pipeline_env, print_rows, work_root
from orchestration.config import load_settings
from orchestration.publish.publication import MARTS_SCHEMA, SERVING_FILE, SERVING_STORAGE_VERSION
from orchestration.core.settings import BUNDLED_SNAPSHOT_DIR, DBT_PROJECT_DIR, Settings
from orchestration.sources import discover
from orchestration.sources.contract import SourceSpec
from orchestration.fetch.archive import landings_fingerprint, list_landings
from orchestration.load.warehouse import record_source_contracts
from orchestration.transform.contracts import source_contract_rows
from orchestration.load.warehouse import RawLoad, identifier, load_source, new_load_id, sql_string

PHASES = ("parse", "load", "sql", "publish")
# the compiled SQL names the catalog after the file: "kpi"."marts"."kpi_annual"
WAREHOUSE_FILE = "kpi.duckdb"


def floor_settings(snapshot_dir: Path, work_dir: Path, countries: tuple[str, ...] | None = None) -> Settings:
    env = pipeline_env(snapshot_dir, work_dir, countries, warehouse_path=work_dir / WAREHOUSE_FILE)
    return load_settings(env)


def source_specs() -> list[SourceSpec]:
    return list(discover())


# --- dbt, compiled before the timed run --------------------------------------------------------

def compile_manifest(work_dir: Path) -> Path:
    """``dbt compile`` of the project into ``work_dir``; returns the manifest with every node's SQL.

    It compiles against an empty warehouse of its own (named kpi.duckdb, so the catalog is the
    same): incremental models then compile as full builds, whatever an earlier run left behind.
    """
    compile_dir = work_dir / "dbt_compile"
    shutil.rmtree(compile_dir, ignore_errors=True)
    compile_dir.mkdir(parents=True)
    target = compile_dir / "target"
    env = {**os.environ, "KPI_WAREHOUSE_PATH": str(compile_dir / WAREHOUSE_FILE), "KPI_DBT_TARGET": "duckdb",
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    dbt = Path(sys.executable).with_name("dbt")
    result = subprocess.run(
        [str(dbt), "compile", "--quiet", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
         "--target-path", str(target), "--log-path", str(compile_dir / "logs")],
        cwd=DBT_PROJECT_DIR, env=env, capture_output=True, text=True,
    )
    if result.returncode != 0:
        raise RuntimeError(f"dbt compile failed:\n{result.stdout[-4000:]}\n{result.stderr[-2000:]}")
    return target / "manifest.json"


def nodes_of(manifest: dict, resource_type: str) -> list[dict]:
    return [node for node in manifest["nodes"].values() if node["resource_type"] == resource_type]


def models_in_build_order(manifest: dict) -> list[dict]:
    """Every model after the models it selects from (depends_on), ties broken by name for a stable order."""
    models = {node["unique_id"]: node for node in nodes_of(manifest, "model")}
    ordered: list[dict] = []
    placed: set[str] = set()

    def place(unique_id: str, path: tuple[str, ...] = ()) -> None:
        if unique_id in placed:
            return
        if unique_id in path:
            raise RuntimeError(f"dependency cycle through {unique_id}")
        for parent in sorted(models[unique_id]["depends_on"]["nodes"]):
            if parent in models:
                place(parent, (*path, unique_id))
        placed.add(unique_id)
        ordered.append(models[unique_id])

    for unique_id in sorted(models):
        place(unique_id)
    return ordered


# --- the phases --------------------------------------------------------------------------------

@contextmanager
def timed(timings: dict[str, float], phase: str):
    started = time.perf_counter()
    try:
        yield
    finally:
        timings[phase] = timings.get(phase, 0.0) + time.perf_counter() - started


def parse_sources(settings: Settings) -> list[tuple[SourceSpec, dict, str]]:
    """(spec, frames of its datasets within the run's years, landings fingerprint) per source."""
    years = (settings.first_year, settings.last_year)
    parsed = []
    for spec in source_specs():
        landings = list_landings(settings.snapshot_dir, spec.name)
        if not landings:
            raise RuntimeError(f"{settings.snapshot_dir} has no complete landing of {spec.name}")
        everything = spec.parse(landings, settings)
        frames = {}
        for dataset in spec.datasets:
            frame = everything[dataset.name]
            if dataset.year_column:  # as the pipeline's loading asset: only the run's years
                frame = frame[frame[dataset.year_column].between(*years)].reset_index(drop=True)
            frames[dataset.name] = frame
        spec.check_frames(frames)
        parsed.append((spec, frames, landings_fingerprint(landings)))
    return parsed


def load_sources(settings: Settings, parsed: list[tuple[SourceSpec, dict, str]]) -> dict[str, int]:
    years = (settings.first_year, settings.last_year)
    rows = {}
    for spec, frames, fingerprint in parsed:
        loads = [RawLoad(dataset.name, frames[dataset.name], dataset.replace_on, dataset.year_column) for dataset in spec.datasets]
        counts = load_source(settings.warehouse_path, spec.name, loads, years, new_load_id(), fingerprint)
        rows.update({f"raw.{table}": count["rows_in_table"] for table, count in counts.items()})
    return rows


def _seed_types(node: dict) -> str:
    """DuckDB ``types=`` argument from the seed's column_types (other columns are sniffed, as dbt infers them)."""
    column_types = node["config"].get("column_types") or {}
    return "{" + ", ".join(f"{sql_string(column)}: {sql_string(kind)}" for column, kind in column_types.items()) + "}"


def load_seeds(conn: duckdb.DuckDBPyConnection, manifest: dict) -> dict[str, int]:
    rows = {}
    for node in sorted(nodes_of(manifest, "seed"), key=lambda n: n["unique_id"]):
        path = Path(node["root_path"]) / node["original_file_path"]
        delimiter = node["config"].get("delimiter") or ","
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {identifier(node['schema'])}")
        conn.execute(
            f"CREATE OR REPLACE TABLE {node['relation_name']} AS SELECT * FROM read_csv({sql_string(str(path))}, "
            f"header = true, delim = {sql_string(delimiter)}, types = {_seed_types(node)})"
        )
        rows[f"{node['schema']}.{node['alias']}"] = conn.execute(f"SELECT count(*) FROM {node['relation_name']}").fetchone()[0]
    return rows


def build_models(conn: duckdb.DuckDBPyConnection, manifest: dict) -> dict[str, int]:
    """Every model as a view or a table (incremental models: a table of every year), in dependency order."""
    rows = {}
    for node in models_in_build_order(manifest):
        kind = "VIEW" if node["config"]["materialized"] == "view" else "TABLE"
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {identifier(node['schema'])}")
        conn.execute(f"CREATE OR REPLACE {kind} {node['relation_name']} AS {node['compiled_code']}")
        if kind == "TABLE":
            rows[f"{node['schema']}.{node['alias']}"] = conn.execute(f"SELECT count(*) FROM {node['relation_name']}").fetchone()[0]
    return rows


def run_test(conn: duckdb.DuckDBPyConnection, node: dict) -> int:
    """A data test's failing rows, as ``dbt build`` counts them; kept in a table when it stores failures."""
    query = node["compiled_code"]
    if node["config"].get("store_failures"):
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {identifier(node['schema'])}")
        failures = f"{identifier(node['schema'])}.{identifier(node['alias'])}"
        conn.execute(f"CREATE OR REPLACE TABLE {failures} AS {query}")
        query = f"SELECT * FROM {failures}"
    return conn.execute(f"SELECT count(*) FROM ({query}) AS test_rows").fetchone()[0]


def run_tests(conn: duckdb.DuckDBPyConnection, manifest: dict) -> dict[str, tuple[str, int]]:
    """Every data test's (severity, failing rows)."""
    return {node["name"]: (node["config"].get("severity", "ERROR").upper(), run_test(conn, node))
            for node in sorted(nodes_of(manifest, "test"), key=lambda n: n["unique_id"]) if node.get("compiled_code")}


def publish_marts(warehouse_path: Path, serving_dir: Path) -> dict[str, int]:
    """The marts into a new serving file (storage v1.0.0, renamed into place) and to Parquet, as orchestration/publish/publication.py."""
    release_dir = serving_dir / "releases" / f"{dt.datetime.now(dt.timezone.utc):%Y%m%dT%H%M%S%fZ}"
    release_dir.mkdir(parents=True)
    partial = serving_dir / f".{SERVING_FILE}.partial"
    partial.unlink(missing_ok=True)
    rows = {}
    with duckdb.connect() as conn:
        conn.execute(f"ATTACH {sql_string(str(warehouse_path))} AS warehouse (READ_ONLY)")
        conn.execute(f"ATTACH {sql_string(str(partial))} AS serving (STORAGE_VERSION '{SERVING_STORAGE_VERSION}')")
        tables = [row[0] for row in conn.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = 'warehouse' AND schema_name = ? ORDER BY table_name",
            [MARTS_SCHEMA]).fetchall()]
        conn.execute(f"CREATE SCHEMA serving.{MARTS_SCHEMA}")
        for table in tables:
            source = f"warehouse.{MARTS_SCHEMA}.{identifier(table)}"
            conn.execute(f"CREATE TABLE serving.{MARTS_SCHEMA}.{identifier(table)} AS SELECT * FROM {source}")
            conn.execute(f"COPY (SELECT * FROM {source}) TO {sql_string(str(release_dir / f'{table}.parquet'))} (FORMAT parquet)")
            rows[f"{MARTS_SCHEMA}.{table}"] = conn.execute(f"SELECT count(*) FROM {source}").fetchone()[0]
        conn.execute("DETACH serving")
        conn.execute("DETACH warehouse")
    os.replace(partial, serving_dir / SERVING_FILE)
    return rows


# --- the whole floor -----------------------------------------------------------------------------

def run_floor(snapshot_dir: Path, work_dir: Path, countries: tuple[str, ...] | None = None,
              manifest_path: Path | None = None) -> dict:
    """Parse, load, transform, test and publish the snapshot in this process; seconds per phase and row counts.

    ``manifest_path``: a manifest from ``compile_manifest`` to reuse (otherwise compiled here,
    outside the timed region). The warehouse and serving copy are built afresh in ``work_dir``.
    """
    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    manifest = json.loads((manifest_path or compile_manifest(work_dir)).read_text())
    settings = floor_settings(Path(snapshot_dir), work_dir, countries)
    for stale in (settings.warehouse_path, settings.warehouse_path.with_name(WAREHOUSE_FILE + ".wal")):
        stale.unlink(missing_ok=True)
    shutil.rmtree(settings.serving_dir, ignore_errors=True)
    settings.serving_dir.mkdir(parents=True)

    timings: dict[str, float] = {}
    started = time.perf_counter()
    with timed(timings, "parse"):
        parsed = parse_sources(settings)
    with timed(timings, "load"):
        raw_rows = load_sources(settings, parsed)
    del parsed  # the frames are in DuckDB now; free them before the SQL runs
    record_source_contracts(settings.warehouse_path, source_contract_rows(source_specs()))
    with timed(timings, "sql"), duckdb.connect(str(settings.warehouse_path)) as conn:
        seed_rows = load_seeds(conn, manifest)
        model_rows = build_models(conn, manifest)
        test_failures = run_tests(conn, manifest)
    with timed(timings, "publish"):
        published_rows = publish_marts(settings.warehouse_path, settings.serving_dir)
    total = time.perf_counter() - started

    return {
        "seconds": {"total": total, **{phase: timings[phase] for phase in PHASES}},
        "rows": {
            "raw": sum(raw_rows.values()),
            "seeds": sum(seed_rows.values()),
            "model_tables": sum(model_rows.values()),
            "published": sum(published_rows.values()),
        },
        "raw_tables": raw_rows,
        "published_tables": published_rows,
        "tests": {
            "run": len(test_failures),
            "errors": sorted(name for name, (severity, failures) in test_failures.items() if failures and severity == "ERROR"),
            "warnings": sorted(name for name, (severity, failures) in test_failures.items() if failures and severity != "ERROR"),
        },
        "countries": list(settings.countries),
        "warehouse": str(settings.warehouse_path),
    }


def print_floor(result: dict) -> None:
    seconds, rows = result["seconds"], result["rows"]
    print_rows(["phase", "seconds"], [[phase, seconds[phase]] for phase in (*PHASES, "total")])
    print()
    print_rows(["rows", "count"], [[name, count] for name, count in rows.items()])
    tests = result["tests"]
    print(f"\n{tests['run']} data tests run; failing (error): {', '.join(tests['errors']) or 'none'}; "
          f"warnings: {', '.join(tests['warnings']) or 'none'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.floor", description=__doc__.split("\n\n")[0])
    parser.add_argument("--snapshot", type=Path, default=BUNDLED_SNAPSHOT_DIR, help="replay snapshot (default: the bundled one)")
    parser.add_argument("--work-dir", type=Path, help="where the warehouse is built (default: a temp dir, removed afterwards)")
    parser.add_argument("--countries", help="comma-separated ISO3 codes (default: KPI_COUNTRIES's default)")
    parser.add_argument("--manifest", type=Path, help="a compiled manifest.json to reuse (default: dbt compile first)")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object")
    args = parser.parse_args(argv)
    countries = tuple(code.strip() for code in args.countries.split(",")) if args.countries else None

    def measure(work_dir: Path) -> dict:
        return run_floor(args.snapshot.resolve(), work_dir.resolve(), countries, args.manifest)

    if args.work_dir:
        result = measure(args.work_dir)
    else:
        with work_root("kpi-floor-") as work_dir:
            result = measure(work_dir)
    if args.json:
        print(json.dumps(result))
    else:
        print_floor(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
