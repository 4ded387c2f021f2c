"""The fetch phase of a run: every source of the run fetched at once, before the warehouse is locked.

Fetching is waiting on publishers; loading is writing the warehouse. A live run therefore fetches
all its sources concurrently (a thread per source: the work is I/O, and every request is already
bounded by its deadlines and the source's size limits) under one deadline for the whole phase
(``KPI_FETCH_PHASE_DEADLINE_SECONDS``, default 600 s), and only then takes the writer lock to load
them one at a time. A publisher that stalls costs the run at most the phase deadline, whatever the
others do, and never holds the lock, so other writers are never blocked by it.

The outcome of each source (the landing it fetched, or the error it failed with) is recorded in
``<landing>/.fetch_phases/<phase id>.json``; the loading steps read it instead of fetching again.
Who runs the phase: the CLI before it takes the lock (it passes the phase id as a run tag), the
PostgreSQL executor before its run takes the lock, and otherwise the run's first loading step
before it takes the lock (the DuckDB in-process executor runs steps one after the other, so
the later steps find the record). A step's retry fetches its source again itself.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import datetime as dt
import fcntl
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable

from orchestration.core.errors import KpiWarehouseError, SourceFetchError, SourceFormatError
from orchestration.fetch.acquire import acquire_landings
from orchestration.fetch.archive import Landing, read_landing
from orchestration.fetch.http import Deadline
from orchestration.fetch.limits import MIB, ArchiveBudget

if TYPE_CHECKING:
    from orchestration.core.settings import Settings
    from orchestration.sources.contract import SourceSpec

PHASES_DIR = ".fetch_phases"
FETCH_PHASE_TAG = "kpi/fetch_phase"
# after the phase deadline, how long to wait for a fetch thread to notice it (its watchdog shuts its socket)
GRACE_SECONDS = 30.0


def archive_budget(settings: "Settings") -> ArchiveBudget:
    return ArchiveBudget(settings.landing_dir, int(settings.landing_archive_max_mb * MIB))


def acquire_source(spec: "SourceSpec", settings: "Settings", *, phase_deadline: Deadline | None = None,
                   budget: ArchiveBudget | None = None) -> list[Landing]:
    """One source's landings: its replay snapshot, or a live fetch under its limits and deadlines."""
    return acquire_landings(
        spec.name, settings.source_mode, settings.snapshot_dir, settings.landing_dir,
        lambda fetcher: spec.fetch(fetcher, settings),
        base_url=getattr(settings, spec.base_url_setting), licence=spec.licence,
        timeout_seconds=settings.http_timeout_seconds, retries=settings.http_retries,
        backoff_factor=settings.http_backoff_factor, request_deadline_seconds=settings.http_request_deadline_seconds,
        fetch_deadline_seconds=settings.source_fetch_deadline_seconds, fetch_deadline=phase_deadline,
        limits=spec.fetch_limits(settings),
        budget=budget if budget is not None else (archive_budget(settings) if settings.source_mode == "live" else None),
    )


@dataclass(frozen=True)
class FetchResult:
    """What one source's fetch came to: a landing, or an error to raise in its load."""

    source: str
    fetch_id: str | None = None
    error_kind: str | None = None  # "fetch", "format" or "other"
    location: str | None = None
    problem: str | None = None
    retryable: bool = False
    seconds: float = 0.0

    def raise_error(self) -> None:
        if self.error_kind == "fetch":
            raise SourceFetchError(self.source, self.location, self.problem, retryable=self.retryable)
        if self.error_kind == "format":
            raise SourceFormatError(self.source, self.location, self.problem)
        raise KpiWarehouseError(f"[{self.source}] the fetch failed: {self.problem}")


def _result_of(spec: "SourceSpec", run: Callable[[], list[Landing]]) -> FetchResult:
    started = time.monotonic()
    try:
        [landing] = run()
        return FetchResult(spec.name, fetch_id=landing.fetch_id, seconds=time.monotonic() - started)
    except SourceFetchError as exc:
        kind, location, problem, retryable = "fetch", exc.location, exc.problem, exc.retryable
    except SourceFormatError as exc:
        kind, location, problem, retryable = "format", exc.location, exc.problem, False
    except Exception as exc:  # recorded for the source's load to raise; the other sources go on
        kind, location, problem, retryable = "other", None, f"{type(exc).__name__}: {exc}", False
    return FetchResult(spec.name, error_kind=kind, location=location, problem=problem, retryable=retryable,
                       seconds=time.monotonic() - started)


def fetch_all(specs: Iterable["SourceSpec"], settings: "Settings", log: Callable[[str], None] = print) -> dict[str, FetchResult]:
    """Fetch every source in ``specs`` live, all at once, within the fetch phase deadline."""
    specs = list(specs)
    if not specs:
        return {}
    deadline = Deadline.after(settings.fetch_phase_deadline_seconds, "fetch phase deadline")
    budget = archive_budget(settings)
    log(f"fetching {len(specs)} source(s) at once ({', '.join(spec.name for spec in specs)}), "
        f"within the fetch phase deadline of {settings.fetch_phase_deadline_seconds:g} s")
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=len(specs), thread_name_prefix="fetch")
    futures = {spec.name: pool.submit(_result_of, spec, lambda spec=spec: acquire_source(
        spec, settings, phase_deadline=deadline, budget=budget)) for spec in specs}
    concurrent.futures.wait(futures.values(), timeout=max(0.0, deadline.remaining()) + GRACE_SECONDS)
    pool.shutdown(wait=False, cancel_futures=True)
    results = {}
    for name, future in futures.items():
        if future.done() and not future.cancelled():
            results[name] = future.result()
        else:  # every request is bounded by the deadline: this is a fetch stuck outside the network
            results[name] = FetchResult(name, error_kind="other", problem=(
                f"did not finish within the fetch phase deadline of {settings.fetch_phase_deadline_seconds:g} s "
                f"(KPI_FETCH_PHASE_DEADLINE_SECONDS) plus {GRACE_SECONDS:g} s"))
    for result in results.values():
        outcome = f"landing {result.fetch_id}" if result.fetch_id else f"FAILED: {result.location or ''} {result.problem}"
        log(f"{result.source}: fetched in {result.seconds:.1f} s: {outcome}"[:1000])
    return results


def _phase_path(settings: "Settings", phase_id: str) -> Path:
    safe = "".join(char if char.isalnum() or char in "-_." else "_" for char in phase_id)
    return settings.landing_dir / PHASES_DIR / f"{safe}.json"


@contextlib.contextmanager
def _phase_file_lock(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path.with_suffix(".lock"), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # a second step of the same run waits for the first one's phase
        yield
    finally:
        os.close(fd)


def run_phase(phase_id: str, specs: Iterable["SourceSpec"], settings: "Settings",
              log: Callable[[str], None] = print) -> dict[str, FetchResult]:
    """The fetch phase ``phase_id``: run once (the first caller fetches, later callers read its record)."""
    path = _phase_path(settings, phase_id)
    with _phase_file_lock(path):
        if path.is_file():
            return read_phase(path)
        results = fetch_all(specs, settings, log)
        record = {"phase_id": phase_id, "finished_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                  "results": [asdict(result) for result in results.values()]}
        tmp = path.with_suffix(".partial")
        tmp.write_text(json.dumps(record, indent=2), encoding="utf-8")
        os.replace(tmp, path)
        return results


def read_phase(path: Path) -> dict[str, FetchResult]:
    record = json.loads(path.read_text(encoding="utf-8"))
    return {item["source"]: FetchResult(**item) for item in record["results"]}


def recorded_phase(settings: "Settings", phase_id: str) -> dict[str, FetchResult] | None:
    path = _phase_path(settings, phase_id)
    return read_phase(path) if path.is_file() else None


def landings_from(results: dict[str, FetchResult], settings: "Settings") -> Callable[["SourceSpec"], list[Landing] | None]:
    """For a source's load: its landing from the phase, its error raised, or None (not in the phase)."""

    def fetched(spec: "SourceSpec") -> list[Landing] | None:
        result = results.get(spec.name)
        if result is None:
            return None
        if result.fetch_id is None:
            result.raise_error()
        landing = read_landing(settings.landing_dir / spec.name / result.fetch_id, spec.name)
        if landing is None:
            raise KpiWarehouseError(f"[{spec.name}] the landing {result.fetch_id} of this run's fetch phase is gone "
                                    f"from {settings.landing_dir / spec.name}")
        return [landing]

    return fetched
