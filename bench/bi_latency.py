"""Latency of the KPI report's queries on the serving file, with N concurrent readers, while a run publishes.

Run by hand (it prints figures; nothing asserts on them):

    .venv/bin/python bench/bi_latency.py                 # builds a throwaway warehouse first (~1-2 min)
    .venv/bin/python bench/bi_latency.py --root /tmp/x   # reuses a build made there earlier

Each reader process loops: open the serving DuckDB file read-only, run every query of
orchestration/report.py's REPORT_QUERIES, close. Meanwhile the main process runs the Dagster job's
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

    from orchestration.report import REPORT_QUERIES

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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, help="directory of a build (warehouse/, serving/); built when missing")
    parser.add_argument("--readers", type=int, default=8)
    parser.add_argument("--publishes", type=int, default=3)
    args = parser.parse_args()

    import tempfile

    from tests.conftest import all_years, run_job, warehouse_env
    from tests.helpers_serving import run_publish

    root = args.root or Path(tempfile.mkdtemp(prefix="kpi-bench-"))
    env = warehouse_env(root)
    serving_file = root / "serving" / "kpi.duckdb"
    if not serving_file.is_file():
        print(f"building a warehouse in {root} ...", flush=True)
        result = run_job(env, *all_years())
        if not result.success:
            print("the build failed", file=sys.stderr)
            return 1

    def publish_runs():
        for _ in range(args.publishes):
            result = run_publish(env)
            if not result.success:
                raise RuntimeError("a publishing run failed")

    timings, failures, elapsed = run_readers(serving_file, args.readers, publish_runs)
    report(f"{args.readers} readers while {args.publishes} runs publish", timings, failures, elapsed)
    idle, idle_failures, idle_elapsed = run_readers(serving_file, args.readers, lambda: time.sleep(elapsed))
    report(f"{args.readers} readers, nothing publishing", idle, idle_failures, idle_elapsed)
    return 1 if failures or idle_failures else 0


if __name__ == "__main__":
    sys.exit(main())
