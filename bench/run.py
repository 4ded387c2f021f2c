"""``make bench``: every speed benchmark of the warehouse, printed as one table.

    make bench                                   # everything (about an hour on 2 cores; scale 1000x dominates)
    make bench BENCH_ARGS="--skip scale"         # without the scale runs (about 10 minutes)
    make bench BENCH_ARGS="--factors 1,10,100"   # scale runs up to 100x only

Figures and their references are measured in the same invocation, on this machine:
- framework reference: a trivial one-model dbt-duckdb project via ``dagster asset materialize`` with
  Dagster's defaults (bench/framework_reference.py);
- the framework at the project's shape: the same, with as many seeds, models and data tests as the
  project, each trivial (nothing to compute), by ``dagster asset materialize`` and by dbt in-process
  as the pipeline runs it (bench/framework_reference.py ``--shaped``);
- floor: the pipeline's own parsing and SQL in one process straight on DuckDB (bench/floor.py).
Every pipeline figure is the wall time of the command a user runs (``python -m orchestration.cli``),
from process start to exit, on the bundled snapshot, in a fresh work directory. The changed-source
day is the daily run after one real World Bank release (held back from a first full build)
arrives: it loads that source, rebuilds what it feeds and publishes. Nothing here is a test: the
targets are printed beside the figures, never asserted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import figures as figures_page  # noqa: E402
from bench.common import PROJECT_ROOT, run_cli, work_root  # noqa: E402

BUNDLED_SNAPSHOT = PROJECT_ROOT / "snapshot"


@dataclass
class Figure:
    figure: str
    value: float | None
    unit: str
    reference: float | None = None
    reference_name: str = ""
    target: float | None = None  # the highest acceptable ratio (or value, when there is no reference)

    @property
    def ratio(self) -> float | None:
        if self.value is None or not self.reference:
            return None
        return self.value / self.reference

    @property
    def met(self) -> str:
        measured = self.ratio if self.reference else self.value
        if self.target is None or measured is None:
            return ""
        return "yes" if measured <= self.target else "NO"


def cli(args: list[str], work_dir: Path):
    """One pipeline command on the bundled snapshot; fails loudly, since a failed run has no meaningful time."""
    run = run_cli(BUNDLED_SNAPSHOT, work_dir, args)
    if run.returncode != 0:
        raise RuntimeError(f"`orchestration.cli {' '.join(args)}` failed:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}")
    return run


# The release that arrives on the changed-source day: a real one of the bundled snapshot, the World
# Bank's (the source with the most models downstream), held back from the first full build.
LATE_RELEASE = ("worldbank", "2026-04-08__wdi-bulk__API_HND_DS2_es_csv_v2_21843")


def snapshot_without(release: tuple[str, str], root: Path) -> Path:
    """The bundled snapshot as links, less one landing (which ``arrive`` adds later)."""
    snapshot = root / "snapshot"
    for source_dir in sorted(path for path in BUNDLED_SNAPSHOT.iterdir() if path.is_dir()):
        (snapshot / source_dir.name).mkdir(parents=True)
        for landing in source_dir.iterdir():
            if (source_dir.name, landing.name) != release:
                (snapshot / source_dir.name / landing.name).symlink_to(landing, target_is_directory=True)
    return snapshot


def arrive(release: tuple[str, str], snapshot: Path) -> None:
    source, fetch_id = release
    (snapshot / source / fetch_id).symlink_to(BUNDLED_SNAPSHOT / source / fetch_id, target_is_directory=True)


def changed_source_day(root: Path) -> tuple[float, float]:
    """(seconds of the daily run on a day one source published a release, of the full build before it)."""
    snapshot = snapshot_without(LATE_RELEASE, root)
    before = run_cli(snapshot, root, ["run"])
    arrive(LATE_RELEASE, snapshot)
    day = run_cli(snapshot, root, ["daily"])
    for run, what in ((before, "full build without the late release"), (day, "changed-source daily run")):
        if run.returncode != 0:
            raise RuntimeError(f"{what} failed:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}")
    if "marts rebuilt and published" not in day.stdout:
        raise RuntimeError(f"the changed-source daily run published nothing:\n{day.stdout[-3000:]}")
    return day.seconds, before.seconds


def pipeline_figures(reference_seconds: float, shaped_seconds: float) -> list[Figure]:
    from bench import floor

    with work_root("kpi-bench-changed-") as root:
        print("  changed-source day (full build without one World Bank release, then the daily run with it) ...", flush=True)
        changed_day, _ = changed_source_day(root)
    with work_root("kpi-bench-pipeline-") as root:
        print("  full build ...", flush=True)
        full = cli(["run"], root)
        print(f"    {full.seconds:.1f} s; no-change daily run ...", flush=True)
        no_change = cli(["daily"], root)
        print(f"    {no_change.seconds:.1f} s; one partition ...", flush=True)
        one_partition = cli(["backfill", "--from", "2010", "--to", "2010"], root)
        print(f"    {one_partition.seconds:.1f} s; 25-year backfill ...", flush=True)
        backfill = cli(["backfill", "--from", "2000", "--to", "2024"], root)
        print(f"    {backfill.seconds:.1f} s; floor of the full build ...", flush=True)
    with work_root("kpi-bench-floor-") as root:
        floor_seconds = floor.run_floor(BUNDLED_SNAPSHOT, root)["seconds"]["total"]
    return [
        Figure("full build (bundled snapshot, empty warehouse)", full.seconds, "s", reference_seconds, "framework ref.", 1.0),
        Figure("full build vs the floor", full.seconds, "s", floor_seconds, "floor", 3.0),
        Figure("full build vs the framework at the project's shape (in-process)", full.seconds, "s", shaped_seconds,
               "framework shaped"),
        Figure("no-change daily run", no_change.seconds, "s", reference_seconds, "framework ref.", 0.3),
        Figure("changed-source day (World Bank release: its models, shared marts, publish)", changed_day, "s",
               full.seconds, "full build", 0.5),
        Figure("one partition (2010)", one_partition.seconds, "s", reference_seconds, "framework ref.", None),
        Figure("25-year backfill (2000-2024), one run", backfill.seconds, "s", one_partition.seconds, "one partition", 2.0),
        Figure("full build peak RSS (largest process)", full.peak_rss_mb, "MB"),
    ]


def scale_figures(factors: list[int]) -> list[Figure]:
    from bench import scale

    figures = []
    for result in scale.scale_results(factors):
        if result["pipeline_exit_code"] != 0:
            raise RuntimeError(f"the {result['factor']}x pipeline run failed:\n{result['pipeline']['output_tail']}")
        label = f"scale {result['factor']}x ({result['rows']:,} rows)"
        figures.append(Figure(f"{label}: full build", result["pipeline_seconds"], "s", result["floor_seconds"], "floor",
                              3.0 if result["factor"] == 1000 else None))
        figures.append(Figure(f"{label}: rows per second", result["pipeline_rows_per_second"], "rows/s",
                              result["floor_rows_per_second"], "floor"))
        figures.append(Figure(f"{label}: peak RSS", result["pipeline_peak_rss_mb"], "MB",
                              result["floor_peak_rss_mb"], "floor", 1.5 if result["factor"] == 1000 else None))
    incremental = scale.incremental_results()
    small, large = sorted(incremental["histories"])
    figures.append(Figure(f"one-year backfill ({incremental['years']}) on {large}x history",
                          incremental["histories"][large]["backfill_seconds"], "s",
                          incremental["histories"][small]["backfill_seconds"], f"same on {small}x", 1.2))
    return figures


def bi_figures() -> list[Figure]:
    from bench import bi_latency

    with work_root("kpi-bench-bi-") as root:
        result = bi_latency.measure(root, readers=8)
    return [
        Figure("BI p50, slowest report query, 8 readers", result["p50_ms"], "ms"),
        Figure("BI p95, slowest report query, 8 readers", result["p95_ms"], "ms", target=50.0),
        Figure("BI p95, slowest query, 8 readers while publishing", result["p95_publishing_ms"], "ms"),
    ]


def number(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    text = f"{value:,.0f}" if abs(value) >= 1000 else f"{value:,.1f}" if abs(value) >= 10 else f"{value:,.2f}"
    return f"{text} {unit}".strip()


def table_rows(figures: list[Figure]) -> list[list[str]]:
    rows = [["figure", "value", "reference", "ratio", "target", "met"]]
    for figure in figures:
        reference = f"{number(figure.reference, figure.unit)} ({figure.reference_name})" if figure.reference else "-"
        target = "-" if figure.target is None else (f"<= {figure.target:g}x" if figure.reference else f"<= {figure.target:g} {figure.unit}")
        rows.append([figure.figure, number(figure.value, figure.unit), reference,
                     f"{figure.ratio:.2f}x" if figure.ratio is not None else "-", target, figure.met])
    return rows


def print_table(figures: list[Figure]) -> None:
    rows = table_rows(figures)
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for index, row in enumerate(rows):
        print("  ".join(cell.ljust(width) if column == 0 else cell.rjust(width) for column, (cell, width) in enumerate(zip(row, widths))))
        if index == 0:
            print("  ".join("-" * width for width in widths))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skip", default="", help="comma-separated parts to leave out: pipeline, scale, bi")
    parser.add_argument("--factors", default="1,10,100,1000", help="scale factors (default 1,10,100,1000)")
    args = parser.parse_args(argv)
    skip = {part.strip() for part in args.skip.split(",") if part.strip()}
    started, machine_text = dt.datetime.now(dt.timezone.utc), figures_page.machine()

    from bench import framework_reference

    print("framework reference (trivial dbt-duckdb model, `dagster asset materialize`, defaults) ...", flush=True)
    reference = framework_reference.measure()
    figures = [Figure("framework reference (median of 3)", reference["seconds"], "s")]
    shape = framework_reference.own_project_shape()
    print(f"the same at the project's shape ({shape.counts}): `dagster asset materialize`, then dbt in-process ...", flush=True)
    shaped = framework_reference.measure(shape=shape)
    shaped_in_process = framework_reference.measure(shape=shape, in_process=True)
    figures += [
        Figure(f"framework at the project's shape, nothing to compute ({shape.counts}; median of 3)", shaped["seconds"], "s",
               reference["seconds"], "framework ref."),
        Figure("the same, dbt in-process as the pipeline runs it (median of 3)", shaped_in_process["seconds"], "s",
               reference["seconds"], "framework ref."),
    ]
    if "pipeline" not in skip:
        print("pipeline on the bundled snapshot ...", flush=True)
        figures += pipeline_figures(reference["seconds"], shaped_in_process["seconds"])
    if "scale" not in skip:
        print("scale runs (synthetic CBP releases) ...", flush=True)
        figures += scale_figures([int(factor) for factor in args.factors.split(",")])
    if "bi" not in skip:
        print("BI latency, 8 readers ...", flush=True)
        figures += bi_figures()
    print()
    print_table(figures)
    command = "make bench" + (f' BENCH_ARGS="{" ".join(argv if argv is not None else sys.argv[1:])}"' if (argv or sys.argv[1:]) else "")
    page = figures_page.write_section("pipeline", "The pipeline (make bench)", command, table_rows(figures), started, machine_text)
    print(f"\nwritten to {page.relative_to(PROJECT_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
