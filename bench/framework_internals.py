"""What the private framework names buy (orchestration/platform/dagster_internals.py,
orchestration/transform/dbt_internals.py), each against the stock way, alternating so both see the
same machine:

- Dagster: a full build (``python -m orchestration.cli run`` on the bundled snapshot, a fresh work
  directory each time) with the repository's ``dagster.yaml`` (pooled, batched SQLite event log:
  orchestration/platform/instance_storage.py) against the same file with ``storage: sqlite``;
- Dagster's event log: a run of 100 partitions with a blocking check on the pooled storage, with its
  schema answers kept (``has_table`` and the asset key column check, instance_storage.py) and with
  Dagster's own methods, which read the schema before every event;
- dbt-duckdb: ``dbt parse`` of the project for a warehouse at a new path, beside the partial-parse
  state another path left, with ``duckdb_path_not_in_profile_hash`` (the state is reused) and
  without (dbt parses everything again).

    .venv/bin/python bench/framework_internals.py [--rounds 2] [--skip dagster|dbt|schema]

The figures go into those modules' docstrings; run by hand, never in the test suite.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import PROJECT_ROOT, print_rows, run_cli, work_root  # noqa: E402

BUNDLED_SNAPSHOT = PROJECT_ROOT / "snapshot"
STOCK_STORAGE = "storage:\n  sqlite:\n    base_dir:\n      env: DAGSTER_HOME\n"


def stock_storage_config(config: str) -> str:
    """The repository's dagster.yaml with its custom storage block replaced by Dagster's own."""
    replaced, count = re.subn(r"^storage:\n(?:[ #].*\n?)+", STOCK_STORAGE, config, flags=re.MULTILINE)
    if count != 1:
        raise ValueError("dagster.yaml has no top-level storage block to replace")
    return replaced


def full_build(instance_config: str) -> float:
    with work_root("kpi-bench-internals-") as root:
        home = root / "dagster_home"
        home.mkdir(parents=True)
        (home / "dagster.yaml").write_text(instance_config)
        run = run_cli(BUNDLED_SNAPSHOT, root, ["run"])
        if run.returncode != 0:
            raise RuntimeError(f"full build failed:\n{run.stdout[-2000:]}\n{run.stderr[-2000:]}")
        if (home / "dagster.yaml").read_text() != instance_config:
            raise RuntimeError("the CLI replaced the benchmark's dagster.yaml; the comparison would be void")
        return run.seconds


def dbt_parse_seconds(target: Path, warehouse: Path, keep_path_out_of_hash: bool) -> float:
    """One in-process ``dbt parse`` into ``target`` for a warehouse at ``warehouse``."""
    import contextlib
    import time

    from dbt.cli.main import dbtRunner

    from orchestration.config import load_settings
    from orchestration.core.settings import DBT_PROJECT_DIR
    from orchestration.transform.dbt_internals import duckdb_path_not_in_profile_hash
    from orchestration.transform.dbt_runner import profiles_dir, project_args

    profile = load_settings({"KPI_WAREHOUSE_PATH": str(warehouse)}).dbt_env()
    patch = duckdb_path_not_in_profile_hash() if keep_path_out_of_hash else contextlib.nullcontext()
    started = time.perf_counter()
    with patch, profiles_dir(DBT_PROJECT_DIR, profile) as profiles:
        result = dbtRunner().invoke(["parse", "--quiet", "--no-write-json", *project_args(DBT_PROJECT_DIR, target, profiles)])
    if not result.success:
        raise RuntimeError(f"dbt parse failed: {result.exception}")
    return time.perf_counter() - started


def dbt_figures(rounds: int) -> dict[str, list[float]]:
    import shutil

    seconds: dict[str, list[float]] = {"dbt parse, new warehouse path, state reused (patch)": [],
                                       "dbt parse, new warehouse path, stock dbt-duckdb": []}
    with work_root("kpi-bench-dbt-parse-") as root:
        state = root / "state"
        dbt_parse_seconds(state, root / "first" / "kpi.duckdb", keep_path_out_of_hash=True)
        for round_number in range(rounds):
            for name, patched in zip(seconds, (True, False)):
                target = root / f"target-{round_number}-{patched}"
                shutil.copytree(state, target)
                seconds[name].append(dbt_parse_seconds(target, root / f"w-{round_number}-{patched}" / "kpi.duckdb", patched))
    return seconds


def schema_memo_seconds(memo: bool, partitions: int = 100) -> float:
    """One run materializing ``partitions`` yearly partitions of an asset with a blocking check, on the
    project's pooled instance storage, with its schema answers kept (``memo``) or asked every time as
    Dagster's own event log does (the overrides bypassed)."""
    import tempfile
    import time

    import dagster as dg

    from orchestration.platform.dagster_internals import SqliteEventLogStorage
    from orchestration.platform.instance_storage import PooledSqliteEventLogStorage

    keys = dg.StaticPartitionsDefinition([str(year) for year in range(1900, 1900 + partitions)])

    # no annotations below: they would be strings (__future__) naming a local import; Nothing as the
    # output type, as the loading assets (no IO manager)
    @dg.asset(partitions_def=keys, backfill_policy=dg.BackfillPolicy.single_run(), dagster_type=dg.Nothing)
    def yearly(context):
        return None

    @dg.asset_check(asset=yearly, blocking=True)
    def yearly_checked():
        return dg.AssetCheckResult(passed=True)

    saved = {name: PooledSqliteEventLogStorage.__dict__[name] for name in ("has_table", "_has_asset_key_col_on_connection")}
    if not memo:
        for name in saved:
            setattr(PooledSqliteEventLogStorage, name, getattr(SqliteEventLogStorage, name))
    try:
        with tempfile.TemporaryDirectory(prefix="kpi-bench-schema-") as home:
            (Path(home) / "dagster.yaml").write_text((PROJECT_ROOT / "dagster.yaml").read_text())
            with dg.instance_for_test(temp_dir=home) as instance:
                tags = {"dagster/asset_partition_range_start": keys.get_partition_keys()[0],
                        "dagster/asset_partition_range_end": keys.get_partition_keys()[-1]}
                started = time.perf_counter()
                assert dg.materialize([yearly, yearly_checked], instance=instance, tags=tags).success
                return time.perf_counter() - started
    finally:
        for name, method in saved.items():
            setattr(PooledSqliteEventLogStorage, name, method)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--skip", choices=("dagster", "dbt", "schema"), action="append", default=[])
    args = parser.parse_args(argv)
    if "schema" not in args.skip:
        seconds = {"schema answers kept (instance_storage.py)": [], "asked before every event (Dagster's own)": []}
        for _ in range(max(args.rounds, 3)):
            for name, memo in zip(seconds, (True, False)):
                seconds[name].append(schema_memo_seconds(memo))
        print_rows(["event log, a run of 100 partitions with a check", "seconds", "median (s)"],
                   [[name, " ".join(f"{value:.2f}" for value in values), round(statistics.median(values), 2)]
                    for name, values in seconds.items()])
    if "dbt" not in args.skip:
        print_rows(["dbt-duckdb", "seconds", "median (s)"],
                   [[name, " ".join(f"{value:.1f}" for value in values), round(statistics.median(values), 1)]
                    for name, values in dbt_figures(args.rounds).items()])
    if "dagster" in args.skip:
        return 0
    repository_config = (PROJECT_ROOT / "dagster.yaml").read_text()
    configs = {"pooled storage (dagster.yaml)": repository_config, "stock storage: sqlite": stock_storage_config(repository_config)}
    seconds: dict[str, list[float]] = {name: [] for name in configs}
    for _ in range(args.rounds):
        for name, config in configs.items():
            seconds[name].append(full_build(config))
    print_rows(["instance storage", "full builds (s)", "median (s)"],
               [[name, " ".join(f"{value:.1f}" for value in values), round(statistics.median(values), 1)]
                for name, values in seconds.items()])
    return 0


if __name__ == "__main__":
    sys.exit(main())
