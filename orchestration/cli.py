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

from orchestration.config import load_settings
from orchestration.core.errors import KpiWarehouseError, SettingsError
from orchestration.core.settings import PROJECT_ROOT, Settings
from orchestration.core.version import project_version


def _instance():
    import dagster as dg

    from orchestration.platform.instance_config import install_instance_config

    home = Path(os.environ.setdefault("DAGSTER_HOME", str(PROJECT_ROOT / "data" / "dagster_home")))
    installed = install_instance_config(home)  # the repository's dagster.yaml, unless the operator has one of their own
    if installed:
        print(f"  {installed}", flush=True)
    return dg.DagsterInstance.get()


def _log_file(log_dir: Path) -> Path:
    log_dir.mkdir(parents=True, exist_ok=True)
    return log_dir / f"run-{dt.datetime.now():%Y%m%d-%H%M%S}.log"


def summary_rows(settings: Settings) -> list[tuple[str, str, str]]:
    """(what, rows, detail) for every raw table and published mart."""
    from orchestration.publish.publication import SERVING_FILE, current_publication
    from orchestration.load.engines import warehouse_for

    rows: list[tuple[str, str, str]] = []
    for table, count, vintages in warehouse_for(settings).raw_summary():
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


def partition_range_tags(first_year: int, last_year: int, force: bool) -> dict[str, str]:
    """Run tags for one run over a range of yearly partitions (a backfill in a single run)."""
    from orchestration.platform.partitions import FORCE_TAG

    return {
        "dagster/asset_partition_range_start": str(first_year),
        "dagster/asset_partition_range_end": str(last_year),
        FORCE_TAG: "true" if force else "false",
    }


def _definitions_for(job_name: str, resources: dict):
    from orchestration.platform.jobs import LOAD_JOB_NAME, build_load_definitions

    if job_name == LOAD_JOB_NAME:  # a load-only run never needs dbt: skip importing it
        return build_load_definitions(resources)
    from orchestration.definitions import build_definitions

    return build_definitions(resources)


def _execute(job_name: str, tags: dict[str, str], log_file: Path, resources: dict):
    defs = _definitions_for(job_name, resources)

    # dbt's own output goes to stdout (Dagster captures it as compute logs); here, into the log file
    with open(log_file, "a", encoding="utf-8") as log, contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
        return defs.resolve_job_def(job_name).execute_in_process(
            instance=_instance(),
            run_config={"loggers": {"concise": {"config": {"log_file": str(log_file)}}}},
            tags=tags,
            raise_on_error=False,
        )


def _failed_steps(result) -> list[str]:
    return sorted({event.step_key for event in result.all_events if event.is_step_failure and event.step_key})


def _failure_message(result) -> str:
    from orchestration.platform.alerts import step_failure_messages

    return " | ".join(step_failure_messages(result.all_events)) or "run failed"


def run(settings: Settings, first_year: int, last_year: int, force: bool, label: str, accept_shrink: bool = False,
        resources: dict | None = None) -> int:
    """One run of the full build (``force``), or the daily pair: load, then transform and publish
    only if a source reloaded or holds a load the live publication lacks (what the schedule and its
    sensor do). The whole of it holds the warehouse, so no other writer interleaves. ``resources``:
    the code location's (``build_resources()``, the same function ``orchestration.definitions`` calls),
    which ``settings`` were validated from."""
    import dagster as dg

    from orchestration.platform.resources import build_resources

    from orchestration.platform.alerts import record_failure, step_failure_messages
    from orchestration.publish.publication import ACCEPT_SHRINK_TAG
    from orchestration.platform.schedules import transform_request_after
    from orchestration.platform.source_assets import raw_assets_to_transform
    from orchestration.load.engines import warehouse_for
    from orchestration.load.lock import WarehouseBusy, warehouse_writer
    from orchestration.load.upgrade import UpgradeRefused, check_writable

    resources = build_resources() if resources is None else resources
    log_file = _log_file(settings.log_dir)
    print(f"KPI warehouse {project_version()}: {label}, years {first_year}-{last_year}, {settings.source_mode} mode, "
          f"countries {','.join(settings.countries)}")
    warehouse = warehouse_for(settings)
    print(f"  warehouse {warehouse.describe()} ({warehouse.engine})")
    print(f"  full log  {log_file}", flush=True)
    started = time.monotonic()
    tags = {**partition_range_tags(first_year, last_year, force), ACCEPT_SHRINK_TAG: "true" if accept_shrink else "false"}
    if settings.source_mode == "live":
        # every source at once, before the warehouse is locked: a slow publisher never holds the lock
        from orchestration.load.fetch_phase import FETCH_PHASE_TAG, run_phase
        from orchestration.sources import discover

        phase_id = f"cli-{dt.datetime.now(dt.timezone.utc):%Y%m%dT%H%M%S.%fZ}-{os.getpid()}"
        run_phase(phase_id, discover(), settings, log=lambda message: print(f"  {message}", flush=True))
        tags[FETCH_PHASE_TAG] = phase_id
    try:
        with warehouse_writer(warehouse.writer_lock(), settings.warehouse_lock_timeout_seconds, what=f"orchestration.cli {label}",
                              log=lambda message: print(f"  {message}", flush=True)):
            check_writable(warehouse)  # a warehouse of a newer version: refused before any step starts
            result = _execute("kpi_full_build" if force else "kpi_load", tags, log_file, resources)
            changed = raw_assets_to_transform(result.all_events)
            if result.success and not force:
                request = transform_request_after(result.dagster_run, changed)
                if isinstance(request, dg.RunRequest):
                    result = _execute("kpi_transform_publish", {**request.tags, ACCEPT_SHRINK_TAG: tags[ACCEPT_SHRINK_TAG]},
                                      log_file, resources)
            summary = summary_rows(settings) if result.success else []  # read while no other writer can start
    except UpgradeRefused as exc:
        print(f"\n{label} did not start: {exc}", file=sys.stderr)
        return 2
    except WarehouseBusy as exc:
        print(f"\n{label} did not start: {exc}", file=sys.stderr)
        record_failure(settings, f"cli-{dt.datetime.now():%Y%m%d%H%M%S}", f"cli {label}", str(exc), [],
                       log=lambda message: print(f"  {message}"))
        return 1
    elapsed = time.monotonic() - started
    if not result.success:
        message = _failure_message(result)
        print(f"\nRun {result.run_id} FAILED after {elapsed:.1f} s; the serving copy still holds the last good publication.")
        for line in step_failure_messages(result.all_events):
            print(f"  {line.splitlines()[0][:2000]}")
        print(f"Details: {log_file} (or the run in `dagster dev -w workspace.yaml`).")
        record_failure(settings, result.run_id, result.dagster_run.job_name, message, _failed_steps(result),
                       log=lambda text: print(f"  {text}"))
        return 1
    print(f"\nSucceeded in {elapsed:.1f} s; years {first_year}-{last_year}: "
          + (f"{len(changed)} raw table(s) reloaded or pending publication, marts rebuilt and published." if changed
             else "no new release at any source and nothing pending: nothing reloaded, rebuilt or published."))
    print()
    print_table(summary)
    return 0


def explain(settings: Settings, country_iso3: str, kpi_id: str, year: int) -> int:
    """Print how one published kpi_annual cell was made, from the live publication (never the warehouse)."""
    import duckdb

    from orchestration.publish.explain import explain_text, explanations, has_lineage
    from orchestration.publish.publication import SERVING_FILE, current_release_dir

    release = current_release_dir(settings.serving_dir)
    serving = (release or settings.serving_dir) / SERVING_FILE
    if not serving.is_file():
        raise SettingsError(f"nothing published yet in {settings.serving_dir}: run `python -m orchestration.cli run` first")
    with duckdb.connect(str(serving), read_only=True) as connection:
        if not has_lineage(connection):
            raise SettingsError(f"the publication in {serving} has no marts.kpi_lineage (published by an older version): "
                                "run `python -m orchestration.cli run` to republish")
        found = explanations(connection, country_iso3.upper(), kpi_id, year)
    if not found:
        print(f"marts.kpi_annual publishes no value for {country_iso3.upper()} {kpi_id} {year} "
              f"(see marts.dim_kpi for the KPI ids, marts.kpi_annual for the years)", file=sys.stderr)
        return 1
    print(explain_text(found[0]))
    return 0


def print_settings(settings: Settings, names: list[str] | None) -> int:
    """The validated values of ``names``, one per line, or every non-secret setting as NAME=value (shell-quoted)."""
    import shlex

    from orchestration.config import declared_source_settings
    from orchestration.core.settings import PLATFORM_VARIABLES, SECRET_VARIABLES, variable_value

    declared = declared_source_settings()
    if names:
        values = [variable_value(settings, name, declared) for name in names]  # all checked before any is printed
        if any("\n" in value for value in values):
            raise SettingsError(f"a value of {', '.join(names)} holds a line break: a shell could not read it")
        print("\n".join(values))
        return 0
    for variable in sorted({*PLATFORM_VARIABLES, *(setting.env for setting in declared)} - SECRET_VARIABLES):
        print(f"{variable}={shlex.quote(variable_value(settings, variable, declared))}")
    return 0


SETTINGS_HELP = """\
settings (environment variables; the defaults work from a fresh clone; docs/operations.md "Settings" has them all):
  KPI_SOURCE_MODE            replay (default: the bundled snapshot, no network) or live (the publishers)
  KPI_SNAPSHOT_DIR           replay root (default snapshot)
  KPI_WAREHOUSE              the warehouse engine: duckdb (default) or postgres (the KPI_PG_* database below)
  KPI_WAREHOUSE_PATH         the DuckDB warehouse only the pipeline opens (default data/warehouse/kpi.duckdb)
  KPI_SERVING_DIR            what BI tools read: kpi.duckdb, parquet/, docs/, kpi_report.html (default data/serving)
  KPI_LANDING_DIR            archive of live fetches (default data/landing)
  KPI_COUNTRIES              ISO3 codes (default HND,GTM,SLV,NIC,MEX)
  KPI_REVISION_WINDOW_YEARS  years the daily run refreshes (default 3)
  KPI_LOG_DIR                where the full log of a run goes (default data/logs)
  KPI_FAILURES_DIR           a JSON record of every failed run (default data/failures);
                             KPI_ALERT_WEBHOOK_URL also posts it there
  KPI_WAREHOUSE_LOCK_TIMEOUT_SECONDS  how long to wait while another run writes the warehouse (default 1800)
  KPI_PG_HOST, KPI_PG_PORT, KPI_PG_USER, KPI_PG_PASSWORD, KPI_PG_DATABASE
                             the PostgreSQL connection (the warehouse with KPI_WAREHOUSE=postgres)
  KPI_PUBLISH_POSTGRES=1     also publish the marts to PostgreSQL (KPI_PG_PUBLISH_DATABASE, KPI_PG_PUBLISH_SCHEMA,
                             KPI_PG_READER_ROLES)
  KPI_DAGSTER_HOST, KPI_DAGSTER_PORT   where `make dev` and deploy/services.sh webserver listen (127.0.0.1:3000)
  KPI_CODE_SERVER_HOST, KPI_CODE_SERVER_PORT   where the webserver and daemon reach the code server (127.0.0.1:4000)
  KPI_CODE_SERVER_BIND       the address the code server binds (127.0.0.1; 0.0.0.0 to serve other machines)
  KPI_BIN                    the Dagster programs deploy/services.sh starts (default .venv/bin)
  DAGSTER_HOME               the Dagster instance whose run history `make dev` shows (default data/dagster_home)

examples:
  python -m orchestration.cli run
  python -m orchestration.cli backfill --from 2005 --to 2010
  python -m orchestration.cli explain HND removals 2019
  KPI_SOURCE_MODE=live python -m orchestration.cli daily
  python -m orchestration.cli settings --get KPI_DAGSTER_PORT
"""


def main(argv: list[str] | None = None) -> int:
    from orchestration.platform.partitions import YEARLY

    keys = YEARLY.get_partition_keys()
    first, last = int(keys[0]), int(keys[-1])
    parser = argparse.ArgumentParser(
        prog="python -m orchestration.cli",
        description="Run the KPI warehouse's pipeline from a shell: fetch (or replay) every source, validate and\n"
                    "load it, build and test the marts with dbt, and publish them for BI tools. One line per step;\n"
                    "Dagster's full log goes to a file under KPI_LOG_DIR, and the run shows in the Dagster UI's\n"
                    "history (make dev).",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=SETTINGS_HELP,
    )
    parser.add_argument("--version", action="version", version=f"kpi-warehouse {project_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="{run,backfill,daily,settings,explain}",
                                     title="commands (`<command> --help` for its options)")
    commands.add_parser("run", help=f"full build: every source reloaded, every year ({first}-{last}), dbt build, then publish "
                                    "(what `make run` does)",
                        description=f"Reload every source for every year ({first}-{last}), rebuild the marts, test them and "
                                    "publish them to KPI_SERVING_DIR (about a minute on the bundled snapshot).")
    backfill = commands.add_parser("backfill", help="reload and rebuild a range of years in one run, then publish",
                                   description="Reload every source for the years FROM-TO and rebuild what they feed, in one "
                                               "run, then publish (e.g. after a parser fix).")
    backfill.add_argument("--from", dest="first_year", type=int, required=True, metavar="FROM",
                          help=f"first data year (US fiscal year for US sources), {first} or later")
    backfill.add_argument("--to", dest="last_year", type=int, required=True, metavar="TO",
                          help=f"last data year, {last} at most")
    daily = commands.add_parser("daily", help="what the daily schedule runs: the revision window; unchanged sources are skipped",
                                description="Load the trailing revision window; rebuild and publish only if a source sent "
                                            "new bytes (what the schedule kpi_daily runs).")
    daily.add_argument("--window-years", type=int, default=None, metavar="N",
                       help="years to refresh, ending with the current one (default KPI_REVISION_WINDOW_YEARS, 3)")
    for command in commands.choices.values():  # the three that run the pipeline (settings and explain are added below)
        command.add_argument("--accept-shrink", action="store_true",
                             help="publish even if the candidate loses years of a series or rows of a mart against the "
                                  "live publication (a deliberate change; see docs/operations.md, 'Schedule, partitions and backfills')")
    settings_command = commands.add_parser(
        "settings", help="validate every setting and print them (or one: --get NAME); secrets are never printed",
        description="Validate every KPI_* setting, as a run does at start, and print the values as NAME=value lines, "
                    "or the one value of --get NAME (what the Makefile and deploy/services.sh read). A bad value "
                    "exits 2 naming the variable.")
    settings_command.add_argument("--get", metavar="NAME", nargs="+",
                                  help="print only these variables' validated values, one per line, in this order")
    explain_command = commands.add_parser(
        "explain", help="how a published value was made: its originals (file, location, printed value) and releases",
        description="Print how one published marts.kpi_annual cell was made: the value, the rule that made it, each "
                    "original with its archived file, location and printed value (marts.kpi_lineage), and the "
                    "releases that published it (marts.kpi_revisions). Reads the live publication only.")
    explain_command.add_argument("country", metavar="COUNTRY", help="ISO3 code, e.g. HND")
    explain_command.add_argument("kpi_id", metavar="KPI", help="KPI id, e.g. removals (marts.dim_kpi)")
    explain_command.add_argument("year", metavar="YEAR", type=int, help="data year (US fiscal year for US sources)")
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
        if args.command == "settings":
            return print_settings(settings, args.get)
        if args.command == "explain":
            return explain(settings, args.country, args.kpi_id, args.year)
        accept_shrink = args.accept_shrink
        # the run's settings are those of the code location's resources (the same values, read through them)
        from orchestration.platform.resources import build_resources, settings_of

        resources = build_resources()
        settings = settings_of(*resources.values())
        if args.command == "run":
            return run(settings, first, last, force=True, label="full build", accept_shrink=accept_shrink,
                       resources=resources)
        if args.command == "backfill":
            if not first <= args.first_year <= args.last_year <= last:
                raise SettingsError(f"backfill years must be within {first}-{last} and FROM <= TO (got {args.first_year}-{args.last_year})")
            return run(settings, args.first_year, args.last_year, force=True, label="backfill", accept_shrink=accept_shrink,
                       resources=resources)
        from orchestration.platform.schedules import revision_window

        if args.window_years is not None and args.window_years < 1:
            raise SettingsError(f"--window-years must be >= 1 (got {args.window_years})")
        window = revision_window(dt.date.today(), args.window_years or settings.revision_window_years)
        return run(settings, *window, force=False, label="daily run", accept_shrink=accept_shrink, resources=resources)
    except KpiWarehouseError as exc:  # settings errors and the like: one clear line, not a traceback
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
