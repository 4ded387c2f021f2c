"""Latency of the KPI report's queries on the serving file, with N concurrent readers, while a run publishes.

Run by hand (it prints figures; nothing asserts on them):

    .venv/bin/python bench/bi_latency.py                 # builds a throwaway warehouse first (~1-2 min)
    .venv/bin/python bench/bi_latency.py --root /tmp/x   # reuses a build made there earlier

Each reader process loops: open the serving DuckDB file read-only, run every query of
orchestration/publish/report.py's REPORT_QUERIES, close. Meanwhile the main process runs the Dagster job's
publishing assets (serving/kpi_marts + serving/kpi_report: a real publish with docs and report)
``--publishes`` times. The same readers are then timed for as long again with nothing publishing.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def reader(serving_file: str, stop, results, errors) -> None:
    import duckdb

    from orchestration.publish.report import REPORT_QUERIES

    timings: dict[str, list[float]] = {name: [] for name in REPORT_QUERIES}
    timings["connect"], timings["whole report"] = [], []
    failures = []
    while not stop.is_set():
        started = time.perf_counter()
        try:
            conn = duckdb.connect(serving_file, read_only=True)
            timings["connect"].append(time.perf_counter() - started)
            for name, sql in REPORT_QUERIES.items():
                t0 = time.perf_counter()
                conn.execute(sql).fetchall()
                timings[name].append(time.perf_counter() - t0)
            conn.close()
            timings["whole report"].append(time.perf_counter() - started)
        except Exception as exc:  # counted, and printed
            failures.append(f"{type(exc).__name__}: {exc}")
    results.put(timings)
    errors.put(failures)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def run_readers(serving_file: Path, readers: int, work) -> tuple[dict[str, list[float]], list[str], float]:
    ctx = mp.get_context("spawn")
    stop, results, errors = ctx.Event(), ctx.Queue(), ctx.Queue()
    procs = [ctx.Process(target=reader, args=(str(serving_file), stop, results, errors)) for _ in range(readers)]
    for p in procs:
        p.start()
    time.sleep(2.0)  # let every reader import duckdb and start looping
    started = time.perf_counter()
    work()
    elapsed = time.perf_counter() - started
    stop.set()
    merged: dict[str, list[float]] = {}
    failures: list[str] = []
    for _ in procs:
        for name, values in results.get().items():
            merged.setdefault(name, []).extend(values)
        failures += errors.get()
    for p in procs:
        p.join()
    return merged, failures, elapsed


def report(title: str, timings: dict[str, list[float]], failures: list[str], elapsed: float) -> None:
    loads = len(timings.get("whole report", []))
    print(f"\n{title}: {elapsed:.1f} s, {loads} report loads, {len(failures)} reader errors")
    print(f"  {'query':<14} {'n':>6} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for name, values in timings.items():
        if values:
            print(f"  {name:<14} {len(values):>6} {statistics.median(values) * 1000:>8.2f} "
                  f"{percentile(values, 95) * 1000:>8.2f} {max(values) * 1000:>8.2f}")
    for failure in failures[:5]:
        print(f"  error: {failure}")


def build_if_missing(root: Path) -> tuple[dict[str, str], Path]:
    from tests.conftest import all_years, run_job, warehouse_env

    env = warehouse_env(root)
    serving_file = root / "serving" / "kpi.duckdb"
    if not serving_file.is_file():
        print(f"building a warehouse in {root} ...", flush=True)
        if not run_job(env, *all_years()).success:
            raise RuntimeError("the build for the BI benchmark failed")
    return env, serving_file


def slowest_query(timings: dict[str, list[float]], q: float) -> float:
    """The q-th percentile of the slowest report query, in ms (connection and whole report excluded)."""
    from orchestration.publish.report import REPORT_QUERIES

    return max(percentile(timings[name], q) for name in REPORT_QUERIES if timings.get(name)) * 1000


def measure(root: Path, readers: int = 8, publishes: int = 3, quiet: bool = False) -> dict:
    """p50/p95 of the report queries with ``readers`` readers, idle and while ``publishes`` runs publish."""
    from tests.helpers_serving import run_publish

    env, serving_file = build_if_missing(root)

    def publish_runs():
        for _ in range(publishes):
            if not run_publish(env).success:
                raise RuntimeError("a publishing run failed")

    busy, busy_failures, busy_elapsed = run_readers(serving_file, readers, publish_runs)
    idle, idle_failures, idle_elapsed = run_readers(serving_file, readers, lambda: time.sleep(min(busy_elapsed, 60)))
    if not quiet:
        report(f"{readers} readers while {publishes} runs publish", busy, busy_failures, busy_elapsed)
        report(f"{readers} readers, nothing publishing", idle, idle_failures, idle_elapsed)
    if busy_failures or idle_failures:
        raise RuntimeError(f"reader errors: {(busy_failures + idle_failures)[:3]}")
    return {"p50_ms": slowest_query(idle, 50), "p95_ms": slowest_query(idle, 95),
            "p95_publishing_ms": slowest_query(busy, 95), "report_loads": len(idle["whole report"])}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, help="directory of a build (warehouse/, serving/); built when missing")
    parser.add_argument("--readers", type=int, default=8)
    parser.add_argument("--publishes", type=int, default=3)
    args = parser.parse_args()

    import tempfile

    root = args.root or Path(tempfile.mkdtemp(prefix="kpi-bench-"))
    try:
        measure(root, args.readers, args.publishes)
    except RuntimeError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
