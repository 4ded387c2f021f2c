"""Parse ahead (orchestration/load/parse_ahead.py): a real forked worker parsing the bundled snapshot's
real landings into the parse cache, while the "steps" (this test) claim or wait."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pandas as pd
import pytest

from orchestration.config import load_settings
from orchestration.fetch.archive import list_landings
from orchestration.load import parse_ahead
from orchestration.load.parse_cache import cached_frames_exist, parse_with_cache
from orchestration.load.step import needs_parse
from orchestration.load.warehouse import LoadRecord, release_key
from orchestration.sources import discover
from tests.conftest import SNAPSHOT_DIR, warehouse_env

SOURCES = ("unhcr", "unodc", "worldbank")  # the three smallest: the test is about the hand-off, not speed


@pytest.fixture
def settings(tmp_path):
    return load_settings(warehouse_env(tmp_path))


@pytest.fixture
def gate(tmp_path):
    """Where a held worker waits (see held_worker); opened, and every worker ended, after each test,
    whatever it asserted (a worker left waiting would keep pytest from exiting)."""
    path = tmp_path / "go"
    yield path
    path.touch()
    for ahead in parse_ahead._runs.values():
        if ahead is not None:
            ahead.process.join(30)
            if ahead.process.is_alive():
                ahead.process.kill()


def specs():
    return {spec.name: spec for spec in discover()}


def jobs(names=SOURCES):
    return {name: list_landings(SNAPSHOT_DIR, name) for name in names}


def held_worker(monkeypatch, gate, fail=()):
    """Make the worker (forked: it inherits this patch) wait for ``gate`` before its first parse, and
    fail on the sources in ``fail``, so the test decides who takes what."""
    real = parse_ahead.parse_with_cache

    def parse(spec, landings, settings, report):
        while not gate.exists():
            time.sleep(0.01)
        if spec.name in fail:
            raise ValueError(f"{spec.name}: broken on purpose")
        return real(spec, landings, settings, report)

    monkeypatch.setattr(parse_ahead, "parse_with_cache", parse)


def worker_holds_its_first_source(ahead):
    deadline = time.monotonic() + 30
    while ahead.states[0] != parse_ahead.WORKER:
        assert time.monotonic() < deadline, "the worker never took its first source"
        time.sleep(0.01)


def largest_first():
    return tuple(sorted(SOURCES, key=lambda name: parse_ahead.landing_bytes(jobs()[name]), reverse=True))


def test_the_worker_parses_largest_first_and_a_step_reads_the_same_frames_from_the_cache(settings, gate, monkeypatch):
    held_worker(monkeypatch, gate)
    messages = []
    ahead = parse_ahead.start("run-largest-first", lambda: jobs(), settings, log=messages.append)
    assert ahead.sources == largest_first() and str(ahead.process.pid) in messages[0]
    assert parse_ahead.start("run-largest-first", lambda: pytest.fail("asked twice"), settings) is ahead
    worker_holds_its_first_source(ahead)
    gate.touch()
    first = ahead.sources[0]
    assert ahead.claim_or_wait(first) == "worker"  # returns once the worker has written its frames
    assert cached_frames_exist(specs()[first], jobs()[first], settings)
    ahead.process.join(60)
    assert ahead.process.exitcode == 0
    for name in SOURCES:
        assert ahead.claim_or_wait(name) == "worker"
        assert cached_frames_exist(specs()[name], jobs()[name], settings)
        reported = []
        frames = parse_with_cache(specs()[name], jobs()[name], settings, reported.append)
        assert any("reused" in line for line in reported), reported
        expected = specs()[name].parse(jobs()[name], settings)
        for dataset, frame in expected.items():
            pd.testing.assert_frame_equal(frames[dataset], frame, check_exact=True)


def test_a_source_its_step_claims_first_is_never_parsed_by_the_worker(settings, gate, monkeypatch):
    held_worker(monkeypatch, gate)
    ahead = parse_ahead.start("run-claimed", lambda: jobs(), settings)
    worker_holds_its_first_source(ahead)
    last = ahead.sources[-1]
    assert ahead.claim_or_wait(last) == "step"  # the worker is held on its first source
    gate.touch()
    ahead.process.join(60)
    assert not cached_frames_exist(specs()[last], jobs()[last], settings)
    assert all(cached_frames_exist(specs()[name], jobs()[name], settings) for name in ahead.sources[:-1])
    assert ahead.claim_or_wait("cbp") == "none"  # not the worker's: its step parses as always


def test_a_step_stops_waiting_for_a_stuck_worker(settings, gate, monkeypatch):
    held_worker(monkeypatch, gate)
    ahead = parse_ahead.start("run-stuck", lambda: jobs(), settings)
    worker_holds_its_first_source(ahead)  # and never goes on: the gate stays shut
    monkeypatch.setattr(parse_ahead, "WAIT_LIMIT_SECONDS", 0.2)
    started = time.monotonic()
    assert ahead.claim_or_wait(ahead.sources[0]) == "step"
    assert ahead.process.is_alive() and time.monotonic() - started < 10


def test_the_worker_does_not_keep_the_runs_writer_lock(settings, gate, monkeypatch):
    """The worker is forked while the run holds the warehouse's flock; were the run killed, a worker
    still holding the lock file open would keep the warehouse locked until it ends."""
    from orchestration.load.lock import FileLock

    lock = FileLock(settings.warehouse_path)
    assert lock.try_acquire()
    try:
        held_worker(monkeypatch, gate)
        ahead = parse_ahead.start("run-holding-the-lock", lambda: jobs(), settings)
        worker_holds_its_first_source(ahead)
        worker_files = {os.path.realpath(entry) for entry in Path(f"/proc/{ahead.process.pid}/fd").iterdir()}
        assert str(lock.path) not in worker_files
        assert str(lock.path) in {os.path.realpath(entry) for entry in Path("/proc/self/fd").iterdir()}
        gate.touch()
        ahead.process.join(60)
    finally:
        lock.release()


def test_a_source_the_worker_fails_on_is_left_to_its_step(settings, gate, monkeypatch):
    broken = largest_first()[0]
    held_worker(monkeypatch, gate, fail=(broken,))
    ahead = parse_ahead.start("run-failing", lambda: jobs(), settings)
    worker_holds_its_first_source(ahead)
    gate.touch()
    assert ahead.claim_or_wait(broken) == "worker"  # done with it, without frames
    assert not cached_frames_exist(specs()[broken], jobs()[broken], settings)
    ahead.process.join(60)
    assert ahead.process.exitcode == 0
    assert parse_with_cache(specs()[broken], jobs()[broken], settings, lambda message: None)  # the step parses


def test_nothing_starts_for_fewer_than_two_sources_to_parse(settings):
    spec = specs()["worldbank"]
    parse_with_cache(spec, jobs(["worldbank"])["worldbank"], settings, lambda message: None)  # already in the cache
    assert parse_ahead.start("run-one-left", lambda: jobs(["worldbank", "unodc"]), settings) is None
    assert parse_ahead.start("run-one-left", lambda: pytest.fail("asked twice"), settings) is None


def test_a_source_needs_a_parse_when_forced_or_when_a_release_was_never_loaded_whole():
    landings = list_landings(SNAPSHOT_DIR, "worldbank")
    countries = ("HND", "GTM")
    keys = tuple(release_key(landing.sha256, countries) for landing in landings)
    whole = LoadRecord("worldbank", "load-1", 1, 2000, 2026, True, keys)
    assert needs_parse([], landings, countries, forced=False)
    assert not needs_parse([whole], landings, countries, forced=False)
    assert needs_parse([whole], landings, countries, forced=True)  # a full build or backfill parses
    assert needs_parse([whole], landings, ("HND",), forced=False)  # a country added: the release is new again
    partial = LoadRecord("worldbank", "load-1", 1, 2010, 2010, False, keys)
    assert needs_parse([partial], landings, countries, forced=False)
