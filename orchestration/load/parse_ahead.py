"""Parse ahead: the sources a run is about to load parsed on the machine's other core.

The loading steps of a DuckDB run go one after the other in the run's own process (the one writer),
and each parses its landings before it validates and loads them, so a full build parses every
source on one core while the other waits. The first loading step of a run therefore starts one
worker process that parses, into the parse cache (orchestration/load/parse_cache.py), the sources
the run will load and has no parsed frames for, largest landings first. Each loading step then
either finds its source taken by the worker, waits for it and reads the frames from the cache, or
takes the source itself and parses it as before; a source is never parsed by both.

The cache is the only hand-off, so the worker changes nothing but the time: a source it could not
parse (an error, a kill, a worker that died) is parsed again by its own step, which raises the
error, named, as it always did. The worker stops between sources when the run's process is gone.
Only where the steps share the run's process (Dagster's in-process executor: DuckDB); with
PostgreSQL the loading steps already run side by side in processes of their own.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from orchestration.core.settings import Settings
from orchestration.fetch.archive import Landing
from orchestration.load.lock import lock_path
from orchestration.load.parse_cache import cached_frames_exist, parse_with_cache

# a source's state, shared with the worker (one byte each, changed under the array's lock)
FREE, WORKER, STEP, DONE = 0, 1, 2, 3
POLL_SECONDS = 0.02
# the longest a step waits for the worker on its source before parsing it itself (the largest source
# of the bundled snapshot parses in about 5 s)
WAIT_LIMIT_SECONDS = 300.0


@dataclass
class ParseAhead:
    sources: tuple[str, ...]
    states: Any  # multiprocessing.Array("b"): FREE, WORKER, STEP or DONE per source
    process: Any  # the worker (multiprocessing.Process)

    def claim_or_wait(self, source: str) -> str:
        """Before ``source``'s step parses: take the source if the worker has not (``"step"``, also after
        ``WAIT_LIMIT_SECONDS`` of waiting), or wait until the worker is done with it or gone
        (``"worker"``); ``"none"`` if it was never the worker's."""
        if source not in self.sources:
            return "none"
        index = self.sources.index(source)
        with self.states.get_lock():
            if self.states[index] == FREE:
                self.states[index] = STEP
                return "step"
        deadline = time.monotonic() + WAIT_LIMIT_SECONDS
        while self.states[index] == WORKER and self.process.is_alive():
            if time.monotonic() > deadline:
                return "step"  # a worker stuck on it: the step parses, as without one
            time.sleep(POLL_SECONDS)
        return "worker"


_runs: dict[str, ParseAhead | None] = {}  # run id -> its worker (None: the run parses nothing ahead)


def landing_bytes(landings: list[Landing]) -> int:
    return sum((file.landing_dir / file.file).stat().st_size for landing in landings for file in landing.files)


def start(run_id: str, jobs: Callable[[], dict[str, list[Landing]]], settings: Settings,
          log: Callable[[str], None] = print) -> ParseAhead | None:
    """The run's worker, started by the run's first loading step; later steps get the same one.
    ``jobs``: source name -> the landings its step will parse (asked once per run). Sources whose
    frames are already in the cache are left out; with fewer than two left, nothing is started (one
    source gains nothing from waiting on another process)."""
    if run_id in _runs:
        return _runs[run_id]
    for finished in [key for key, ahead in _runs.items() if ahead is None or not ahead.process.is_alive()]:
        ahead = _runs.pop(finished)
        if ahead is not None:
            ahead.process.join()
    from orchestration.sources import discover

    specs = {spec.name: spec for spec in discover()}
    todo = {name: landings for name, landings in jobs().items() if not cached_frames_exist(specs[name], landings, settings)}
    if len(todo) < 2:
        _runs[run_id] = None
        return None
    sources = tuple(sorted(todo, key=lambda name: landing_bytes(todo[name]), reverse=True))
    # fork: the worker shares the code the run already imported (spawn would import it again, seconds)
    context = multiprocessing.get_context("fork")
    states = context.Array("b", len(sources))
    process = context.Process(target=_work, args=(sources, todo, settings, states, os.getpid()),
                              name=f"kpi-parse-ahead-{run_id[:8]}", daemon=False)
    process.start()
    log(f"parsing ahead in process {process.pid}, largest first: {', '.join(sources)}")
    _runs[run_id] = ParseAhead(sources, states, process)
    return _runs[run_id]


def close_inherited(path: Path) -> None:
    """Close this (forked) process's descriptors of ``path``. The writer lock is an ``flock``, which
    belongs to the open file the fork shares: were the run's process killed, the worker would hold the
    warehouse until it exits. Closing the worker's copy leaves the run's own lock as it is."""
    target = os.path.realpath(path)
    for descriptor in Path("/proc/self/fd").iterdir():
        try:
            if os.readlink(descriptor) == target:
                os.close(int(descriptor.name))
        except OSError:  # gone meanwhile, or the listing's own descriptor
            pass


def _work(sources: tuple[str, ...], jobs: dict[str, list[Landing]], settings: Settings, states, parent: int) -> None:
    from orchestration.sources import discover

    close_inherited(lock_path(settings.warehouse_path))
    specs = {spec.name: spec for spec in discover()}
    try:
        for index, name in enumerate(sources):
            if os.getppid() != parent:
                return  # the run is gone: nobody will read what would be parsed
            with states.get_lock():
                if states[index] != FREE:
                    continue
                states[index] = WORKER
            try:
                parse_with_cache(specs[name], jobs[name], settings, report=lambda message: None)
            except Exception:  # noqa: BLE001 - the source's own step parses again and raises it, named
                pass
            finally:
                states[index] = DONE
    except KeyboardInterrupt:  # an interrupt of the run's process group: the run handles it
        return
