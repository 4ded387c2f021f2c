"""``python -m orchestration.cli run``: the main job from a shell, with concise progress and a summary.

The run goes through the same Dagster instance as ``dagster dev`` (DAGSTER_HOME), so it shows in
the UI's run history; Dagster's own debug log goes to a file, named at the start.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import sys
import time
from pathlib import Path

from orchestration.settings import PROJECT_ROOT, Settings


def _instance():
    import dagster as dg

    home = Path(os.environ.setdefault("DAGSTER_HOME", str(PROJECT_ROOT / "data" / "dagster_home")))
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text((PROJECT_ROOT / "dagster.yaml").read_text())
    return dg.DagsterInstance.get()


def _log_file() -> Path:
    log_dir = PROJECT_ROOT / "data" / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    return log_dir / f"run-{dt.datetime.now():%Y%m%d-%H%M%S}.log"


def summary_rows(settings: Settings) -> list[tuple[str, str, str]]:
    """(what, rows, detail) for every raw table and published mart."""
    import duckdb

    from orchestration.publish import SERVING_FILE, current_publication

    rows: list[tuple[str, str, str]] = []
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        for (table,) in conn.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'raw' ORDER BY table_name"
        ).fetchall():
            count, vintages = conn.execute(
                f'SELECT count(*), count(DISTINCT vintage) FROM raw."{table}"'
            ).fetchone()
            rows.append((f"loaded raw.{table}", f"{count:,}", f"{vintages} vintage(s)"))
    publication = current_publication(settings.serving_dir)
    if publication:
        for table, count in publication["row_counts"].items():
            rows.append((f"published marts.{table}", f"{count:,}", ""))
        rows.append(("publication", publication["publication_id"], str(settings.serving_dir / SERVING_FILE)))
    return rows


def print_table(rows: list[tuple[str, str, str]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        print(f"  {row[0]:<{widths[0]}}  {row[1]:>{widths[1]}}  {row[2]}")


def run(job_name: str) -> int:
    settings = Settings.from_env()
    log_file = _log_file()
    print(f"KPI warehouse: {job_name} in {settings.source_mode} mode, countries {','.join(settings.countries)}")
    print(f"  warehouse {settings.warehouse_path}")
    print(f"  full log  {log_file}", flush=True)
    started = time.monotonic()
    from orchestration.definitions import defs

    # dbt's own output goes to stdout (Dagster captures it as compute logs); here, into the log file
    with open(log_file, "a", encoding="utf-8") as log, contextlib.redirect_stdout(log):
        result = defs.resolve_job_def(job_name).execute_in_process(
            instance=_instance(),
            run_config={"loggers": {"concise": {"config": {"log_file": str(log_file)}}}},
            raise_on_error=False,
        )
    elapsed = time.monotonic() - started
    if not result.success:
        print(f"\nRun {result.run_id} FAILED after {elapsed:.1f} s; the serving copy still holds the last good publication.")
        print(f"Details: {log_file} (or the run in `dagster dev -w workspace.yaml`).")
        return 1
    print(f"\nRun {result.run_id} succeeded in {elapsed:.1f} s.\n")
    print_table(summary_rows(settings))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orchestration.cli", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="materialize every asset and publish the marts")
    run_parser.add_argument("--job", default="kpi_full_build")
    args = parser.parse_args(argv)
    try:
        return run(args.job)
    except Exception as exc:  # settings errors and the like: one clear line, not a traceback
        from orchestration.errors import KpiWarehouseError

        if isinstance(exc, KpiWarehouseError):
            print(f"error: {exc}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
