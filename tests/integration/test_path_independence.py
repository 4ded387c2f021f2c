"""Path independence: after any sequence of full builds, daily runs (with and without new
releases), backfills of any range and kills at any point, the published marts (and the raw
tables) equal, row for row, what one full build from the same landings publishes.

Random sequences drive the pipeline's own load code, dbt itself (the project's models and its
replace_range strategy, with the dbt asset's selection and vars) and the publishing code, in-process
(tests/engine.py); a fixed sequence also runs through real Dagster runs (test_operation_paths.py). The seed of the
random sequences is printed on failure; set KPI_PROPERTY_SEED to replay one.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pytest

from orchestration.load.step import LOAD
from tests.conftest import SNAPSHOT_DIR, shared_dir
from tests.engine import Engine, Kill, Killed, engine_settings, load_project, marts_differences, raw_differences
from tests.releases import new_homicide_release

pytestmark = pytest.mark.integration

# 50 sequences per run, in batches that can run on different cores (ten, so that two workers share them evenly)
BATCHES, SEQUENCES_PER_BATCH = 10, int(os.environ.get("KPI_PROPERTY_SEQUENCES_PER_BATCH", "5"))
MAX_OPERATIONS = 5
KILL_POINTS = {"load": 4, "transform": 60, "publish": 4}  # roughly how many each phase reaches
WINDOW = 3
# releases that arrive during a sequence, in their publishers' order; everything else of the
# bundled snapshot is there from the start
LATE_RELEASES = {
    "worldbank": ["2026-04-08__wdi-bulk__API_HND_DS2_es_csv_v2_21843", "2026-06-30__synthetic__VC.IHR.PSRC.P5"],
    "foreign_assistance": ["2-country-summary-release-2025-11"],
}
LATE_ARRIVALS = {fetch_id for fetch_ids in LATE_RELEASES.values() for fetch_id in fetch_ids}


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """The dbt project parsed once per process (every engine warehouse is a kpi.duckdb: one parse serves all)."""
    root = tmp_path_factory.mktemp("parse")
    return load_project(engine_settings(root, SNAPSHOT_DIR))


@pytest.fixture(scope="module")
def release_store(tmp_path_factory) -> Path:
    """Every landing a sequence can see: the bundled snapshot's and the synthetic new release (made
    once per run, for every worker: the reference builds that workers share link to it)."""
    def make(target: Path) -> None:
        for source_dir in SNAPSHOT_DIR.iterdir():
            if source_dir.is_dir():
                shutil.copytree(source_dir, target / "store" / source_dir.name, symlinks=True)
        new_homicide_release(target / "store")
    return shared_dir(tmp_path_factory, "path-independence-releases", make) / "store"


@pytest.fixture(scope="module")
def built_world(shared) -> World:
    """The starting point of every sequence: the warehouse after one full build of the first releases
    (the reference for them; sequences clone it, nothing writes it)."""
    _, reference = shared
    return reference.first()


def clone(world: World, root: Path) -> World:
    """A copy of ``world`` (warehouse, serving directory, snapshot) under ``root``; the relative links
    of the serving directory and the snapshot's links to the release store copy as they are."""
    shutil.copytree(world.root, root, symlinks=True)
    settings = engine_settings(root, root / "snapshot")
    return World(root, world.store, Engine(settings, world.engine.project, world.engine.parse_cache), set(world.arrived))


@dataclass
class World:
    """One sequence's publisher side (a snapshot directory the releases arrive in) and warehouse."""

    root: Path
    store: Path
    engine: Engine
    arrived: set[str] = field(default_factory=set)

    @property
    def snapshot(self) -> Path:
        return self.root / "snapshot"

    def arrive(self, source: str, fetch_id: str) -> None:
        (self.snapshot / source).mkdir(parents=True, exist_ok=True)
        (self.snapshot / source / fetch_id).symlink_to(self.store / source / fetch_id, target_is_directory=True)
        self.arrived.add(f"{source}/{fetch_id}")


def new_world(root: Path, store: Path, project, parse_cache: dict) -> World:
    root.mkdir(parents=True)
    world = World(root, store, None)  # type: ignore[arg-type]
    for source_dir in sorted(store.iterdir()):
        for landing in sorted(source_dir.iterdir()):
            if landing.name not in LATE_ARRIVALS:
                world.arrive(source_dir.name, landing.name)
    world.engine = Engine(engine_settings(root, world.snapshot), project, parse_cache)
    return world


class Reference:
    """One fresh full build per set of arrived releases, made once per run by whichever worker first
    needs it (``shared_dir``) and only read after: sequences compare with its files, in SQL."""

    def __init__(self, tmp_path_factory, store: Path, project, parse_cache: dict):
        self.tmp_path_factory, self.store, self.project, self.parse_cache = tmp_path_factory, store, project, parse_cache

    def first(self) -> World:
        """The full build of the releases there from the start."""
        return self._built(frozenset())

    def of(self, world: World) -> World:
        late = {release for release in world.arrived if release.split("/", 1)[1] in LATE_ARRIVALS}
        return self._built(frozenset(late))

    def _built(self, late: frozenset[str]) -> World:
        name = "path-independence-reference-" + hashlib.sha256("\n".join(sorted(late)).encode()).hexdigest()[:12]

        def make(target: Path) -> None:
            fresh = new_world(target / "world", self.store, self.project, self.parse_cache)
            for release in sorted(late):
                fresh.arrive(*release.split("/", 1))
            assert fresh.engine.run(all_years(fresh), forced=True)

        root = shared_dir(self.tmp_path_factory, name, make) / "world"
        world = World(root, self.store, Engine(engine_settings(root, root / "snapshot"), self.project, self.parse_cache))
        world.arrived = {f"{source.name}/{landing.name}" for source in world.snapshot.iterdir() for landing in source.iterdir()}
        return world

    def differences(self, world: World) -> list[str]:
        """How ``world``'s raw tables and published marts differ from one full build of its releases."""
        fresh = self.of(world)
        assert fresh.arrived == world.arrived
        return [*raw_differences(world.engine.settings.warehouse_path, fresh.engine.settings.warehouse_path),
                *marts_differences(world.engine.settings.serving_dir, fresh.engine.settings.serving_dir)]


def all_years(world: World) -> tuple[int, int]:
    settings = world.engine.settings
    return settings.first_year, settings.last_year


def random_operations(rng: random.Random) -> list[tuple]:
    """(kind, arguments, kill point or None) for one sequence; it ends with an unkilled daily run."""
    operations = []
    first, last = 2000, 2026
    for _ in range(rng.randint(2, MAX_OPERATIONS)):
        kind = rng.choices(["arrive", "daily", "backfill", "full"], weights=[3, 4, 3, 1])[0]
        phase = rng.choice(sorted(KILL_POINTS))
        kill = (phase, rng.randint(1, KILL_POINTS[phase])) if kind != "arrive" and rng.random() < 0.35 else None
        if kind == "arrive":
            source = rng.choice(sorted(LATE_RELEASES))
            operations.append(("arrive", (source,), None))
        elif kind == "backfill":
            a = rng.randint(first, last)
            b = rng.randint(a, min(last, a + rng.choice([0, 1, 2, 5, 26])))
            operations.append(("backfill", (a, b), kill))
        else:
            operations.append((kind, (), kill))
    operations.append(("daily", (), None))
    return operations


def apply(world: World, operation: tuple) -> str:
    kind, arguments, kill_at = operation
    if kind == "arrive":
        source = arguments[0]
        waiting = [f for f in LATE_RELEASES[source] if f"{source}/{f}" not in world.arrived]
        if not waiting:
            return "arrive: nothing left"
        world.arrive(source, waiting[0])
        return f"arrive {source}/{waiting[0]}"
    last = world.engine.settings.last_year
    years = {"full": all_years(world), "daily": (last - WINDOW + 1, last)}.get(kind, arguments)
    kill = Kill(*kill_at) if kill_at else Kill()
    try:
        published = world.engine.run(years, forced=kind != "daily", kill=kill)
    except Killed as killed:
        return f"{kind} {years} killed at {killed}"
    return f"{kind} {years}: {'published' if published else 'nothing to do'}"


@pytest.fixture(scope="module")
def shared(tmp_path_factory, project, release_store):
    """Parses and reference builds shared by every batch of this module."""
    parse_cache: dict = {}
    return parse_cache, Reference(tmp_path_factory, release_store, project, parse_cache)


@pytest.mark.parametrize("batch", range(BATCHES))
def test_random_sequences_publish_what_one_full_build_publishes(batch, tmp_path, built_world, shared):
    seed = int(os.environ.get("KPI_PROPERTY_SEED", random.SystemRandom().randrange(2**32)))
    rng = random.Random(seed)
    _, reference = shared
    for number in range(SEQUENCES_PER_BATCH):
        operations = random_operations(rng)
        world = clone(built_world, tmp_path / f"sequence-{number}")
        log = ["full build"]
        for operation in operations:
            log.append(apply(world, operation))
            if operation[0] == "arrive" or "killed" in log[-1]:
                continue
            # every run that ended loaded each new release whole and completed what was pending
            where = f"KPI_PROPERTY_SEED={seed}, sequence {number}: " + " -> ".join(log)
            assert not (differences := reference.differences(world)), f"differs from a full build after {where}: {differences}"
        shutil.rmtree(world.root)


def test_the_new_release_regression_through_the_engine(tmp_path, built_world, shared):
    """The issue's scenario: a new homicide release reaches the warehouse by the daily run, whose
    window is three years; the release is loaded whole and kpi_annual keeps every year."""
    world = clone(built_world, tmp_path / "world")  # a full build of the first releases
    before = homicide_years(world.engine.settings.serving_dir)
    world.arrive("worldbank", LATE_RELEASES["worldbank"][1])
    last = world.engine.settings.last_year
    assert world.engine.run((last - 2, last), forced=False)
    after = homicide_years(world.engine.settings.serving_dir)
    for country, years in before.items():
        assert set(years) <= set(after[country]), country
        assert {2023, 2024} <= set(after[country]), country
    assert not marts_differences(world.engine.settings.serving_dir, shared[1].of(world).engine.settings.serving_dir)


def homicide_years(serving: Path) -> dict[str, list[int]]:
    with duckdb.connect(str(serving / "kpi.duckdb"), read_only=True) as conn:
        rows = conn.execute("SELECT country_iso3, list(year ORDER BY year) FROM marts.kpi_annual WHERE kpi_id = 'homicide_rate' "
                            "GROUP BY 1").fetchall()
    return dict(rows)


def test_a_new_release_is_loaded_whole_whatever_the_run_range(tmp_path, built_world):
    world = clone(built_world, tmp_path / "world")  # a full build of the first releases
    world.arrive("worldbank", LATE_RELEASES["worldbank"][1])
    from orchestration.load.step import run_load
    from orchestration.platform.jobs import SOURCES
    from orchestration.publish.publication import published_load_seq
    from orchestration.sources.contract import first_input_year
    from tests.engine import passing_validator

    spec = next(spec for spec in SOURCES if spec.name == "worldbank")
    settings = world.engine.settings
    outcome = run_load(spec, settings, (2005, 2006), True, published_load_seq(settings.serving_dir), log=lambda m: None,
                       validate=passing_validator)
    assert outcome.plan.action == LOAD and outcome.plan.whole_release
    assert outcome.plan.years == (first_input_year(settings.first_year), settings.last_year)  # with the input year
    assert "2026-06-30__synthetic__VC.IHR.PSRC.P5" in outcome.plan.reason
    again = run_load(spec, settings, (2005, 2006), True, published_load_seq(settings.serving_dir), log=lambda m: None,
                     validate=passing_validator)
    assert not again.plan.whole_release and again.plan.years == (2005, 2006)  # known now: a backfill re-reads its years
