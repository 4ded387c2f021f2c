"""What moving to PostgreSQL costs: the pipeline on the DuckDB warehouse and on the PostgreSQL one,
measured in the same invocation on this machine.

For each engine, in a fresh work directory (and, for PostgreSQL, a fresh database of a throwaway
PostgreSQL 15 cluster started here, as the tests start theirs: tests/pg.py):
- on the bundled snapshot: the full build, a no-change daily run and a one-year backfill;
- on k synthetic CBP releases (bench/scale.py; 100x by default: 100 releases, ~1M CSV rows) and the
  other sources as bundled, for the five default countries: the full build.
Every figure is the wall time of ``python -m orchestration.cli <command>`` as a user runs it, from
process start to exit (the PostgreSQL server's own work is inside it: the client waits for it), plus
the warehouse's size on disk afterwards. Nothing here is a test: no figure is asserted.

    .venv/bin/python -m bench.engines                    # bundled snapshot and 100x
    .venv/bin/python -m bench.engines --factors 10       # a quicker scale run
    .venv/bin/python -m bench.engines --skip scale
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make `bench`, `orchestration` and `tests` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import figures as figures_page  # noqa: E402
from bench.common import PROJECT_ROOT, pipeline_env, print_rows, python_executable, run_measured, work_root  # noqa: E402

BUNDLED_SNAPSHOT = PROJECT_ROOT / "snapshot"
ENGINES = ("duckdb", "postgres")


def engine_env(engine: str, snapshot: Path, work_dir: Path, cluster, database: str,
               countries: tuple[str, ...] | None) -> dict[str, str]:
    # the caller's own KPI_*/DAGSTER_* settings must not leak into a measured run
    env = {key: value for key, value in os.environ.items() if not key.startswith(("KPI_", "DAGSTER_"))}
    env.update(pipeline_env(snapshot, work_dir, countries), DAGSTER_HOME=str(work_dir / "dagster_home"),
               KPI_FAILURES_DIR=str(work_dir / "failures"), KPI_WAREHOUSE=engine)
    if engine == "postgres":
        env.update(cluster.env(), KPI_PG_DATABASE=database)
    return env


def warehouse_mb(engine: str, work_dir: Path, cluster, database: str) -> float:
    if engine == "duckdb":
        return (work_dir / "warehouse" / "kpi.duckdb").stat().st_size / 2**20
    conn = cluster.connect(database)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_database_size(current_database())")
            return cur.fetchone()[0] / 2**20
    finally:
        conn.close()


def run_commands(engine: str, snapshot: Path, work_dir: Path, cluster, database: str, commands: list[list[str]],
                 countries: tuple[str, ...] | None = None) -> dict:
    """Each command in turn on one warehouse; wall seconds of each and the warehouse's size after."""
    if engine == "postgres":
        cluster.create_databases(database)
    env = engine_env(engine, snapshot, work_dir, cluster, database, countries)
    seconds = {}
    for command in commands:
        measured = run_measured([python_executable(), "-m", "orchestration.cli", *command], env)
        if measured.returncode != 0:
            raise RuntimeError(f"{engine}: `orchestration.cli {' '.join(command)}` failed:\n"
                               f"{measured.stdout[-3000:]}\n{measured.stderr[-3000:]}")
        seconds[" ".join(command)] = measured.seconds
        print(f"    {engine}: {' '.join(command)}: {measured.seconds:.1f} s", flush=True)
    return {"seconds": seconds, "warehouse_mb": warehouse_mb(engine, work_dir, cluster, database)}


def bundled(cluster) -> dict[str, dict]:
    commands = [["run"], ["daily"], ["backfill", "--from", "2010", "--to", "2010"]]
    results = {}
    for engine in ENGINES:
        with work_root(f"kpi-bench-{engine}-") as root:
            results[engine] = run_commands(engine, BUNDLED_SNAPSHOT, root, cluster, f"bench_bundled_{engine}", commands)
    return results


def scaled(cluster, factor: int) -> dict:
    from bench import scale

    results = {}
    with work_root("kpi-bench-engines-scale-") as root:
        snapshot, rows = scale.generate_snapshot(factor, root / "snapshot")
        for engine in ENGINES:
            # the default countries: the other sources' bundled files name only those (scale.cbp_countries()
            # lists every seed country the CBP file has)
            results[engine] = run_commands(engine, snapshot, root / engine, cluster, f"bench_scale_{engine}", [["run"]])
            results[engine]["raw_cbp_rows"] = raw_cbp_rows(engine, root / engine, cluster, f"bench_scale_{engine}")
    return {"factor": factor, "rows": rows, **results}


def raw_cbp_rows(engine: str, work_dir: Path, cluster, database: str) -> int:
    from bench import scale
    from orchestration.sources import cbp

    if engine == "duckdb":
        return scale.raw_cbp_rows(work_dir / "warehouse" / "kpi.duckdb")
    conn = cluster.connect(database)
    try:
        with conn.cursor() as cur:
            cur.execute(f"SELECT count(*) FROM raw.{cbp.CBP_MONTHLY}")
            return cur.fetchone()[0]
    finally:
        conn.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--factors", default="100", help="synthetic volume factors (default 100)")
    parser.add_argument("--skip", default="", help="comma-separated parts to leave out: bundled, scale")
    args = parser.parse_args(argv)
    skip = {part.strip() for part in args.skip.split(",") if part.strip()}
    from tests.pg import start_cluster

    started, machine_text = dt.datetime.now(dt.timezone.utc), figures_page.machine()
    cluster = start_cluster()
    rows = []
    try:
        if "bundled" not in skip:
            print("bundled snapshot ...", flush=True)
            results = bundled(cluster)
            for command in results["duckdb"]["seconds"]:
                duck, pg = results["duckdb"]["seconds"][command], results["postgres"]["seconds"][command]
                rows.append([f"bundled snapshot: {command}", duck, pg, pg / duck])
            rows.append(["bundled snapshot: warehouse size, MB", results["duckdb"]["warehouse_mb"],
                         results["postgres"]["warehouse_mb"], None])
        if "scale" not in skip:
            for factor in [int(value) for value in args.factors.split(",") if value.strip()]:
                print(f"scale {factor}x ...", flush=True)
                result = scaled(cluster, factor)
                duck, pg = result["duckdb"]["seconds"]["run"], result["postgres"]["seconds"]["run"]
                label = (f"scale {factor}x ({result['rows']:,} CSV rows, {result['duckdb']['raw_cbp_rows']:,} / "
                         f"{result['postgres']['raw_cbp_rows']:,} loaded)")
                rows.append([f"{label}: full build", duck, pg, pg / duck])
                rows.append([f"{label}: CSV rows per second", result["rows"] / duck, result["rows"] / pg, None])
                rows.append([f"{label}: warehouse size, MB", result["duckdb"]["warehouse_mb"],
                             result["postgres"]["warehouse_mb"], None])
    finally:
        cluster.stop()
    print()
    header = ["figure (seconds unless said)", "DuckDB", "PostgreSQL", "PostgreSQL / DuckDB"]
    print_rows(header, rows)
    text_rows = [header] + [[row[0], *("-" if value is None else f"{value:,.2f}" for value in row[1:])] for row in rows]
    command = "python -m bench.engines" + (f" {' '.join(argv if argv is not None else sys.argv[1:])}" if (argv or sys.argv[1:]) else "")
    page = figures_page.write_section(
        "engines", "DuckDB and PostgreSQL warehouses (python -m bench.engines)", command, text_rows, started, machine_text,
        notes="A throwaway PostgreSQL 15 on the same machine (no network latency); every figure is the wall time of "
              "`python -m orchestration.cli <command>`, whose steps run in one process on both engines.")
    print(f"\nwritten to {page.relative_to(PROJECT_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
