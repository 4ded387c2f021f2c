"""The pipeline's own load, transform and publish code, driven in-process on a small warehouse.

For the path-independence property (tests/integration/test_path_independence.py), which runs
dozens of random sequences of full builds, daily runs, backfills, kills and new releases without
a Dagster run per operation (a Dagster process and run costs 10-20 s each); everything that
writes the warehouse or the serving directory is the pipeline's own code:

- load: ``orchestration.load.step.run_load``, the function the loading asset calls (parses are
  memoised per release set; validation is the GX suites' job and is tested elsewhere, so a
  pass-through validator keeps the sequences fast);
- transform: dbt itself, in-process (``dbtRunner``, as orchestration/transform/dbt_runner.py runs
  it, on the project parsed once per process), with the ``--select`` and ``--vars`` the dbt asset
  computes (``orchestration.transform.plan``): the incremental facts go through the project's
  ``replace_range`` strategy (dbt_project/macros/incremental_years.sql). Data tests are left out
  (``--exclude-resource-type test``): they write nothing the marts hold, and each one is tested
  elsewhere; then ``record_transform_build``, as the dbt asset does;
- publish: ``orchestration.publish.publication.publish``, the function the publishing asset calls.

``Kill`` raises at a chosen point (between sources, between models, inside publishing), as a
process killed there would stop: DuckDB transactions roll back, files already renamed stay. A kill
before the k-th model of a build is one dbt invocation of the seeds and models the build would
have run before it (in dependency order), then the raise.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from bench.floor import WAREHOUSE_FILE, models_in_build_order
from orchestration.config import load_settings
from orchestration.core.settings import DBT_PROJECT_DIR, Settings
from orchestration.core.sql import identifier
from orchestration.check.validation import ValidationReport
from orchestration.load.engines import warehouse_for
from orchestration.load.step import SKIP, run_load
from orchestration.load.upgrade import rebuild_changed_relations
from orchestration.platform.dbt_assets import dbt_build_args
from orchestration.platform.jobs import SOURCES
from orchestration.publish import publication as publishing
from orchestration.publish.publication import current_publication, published_load_seq
from orchestration.transform.contracts import source_contract_rows
from orchestration.transform.dbt_runner import (
    list_nodes, parsed_manifest, parsed_manifest_json, profiles_dir, project_args, release_warehouse,
)
from orchestration.transform.plan import dbt_vars, plan_transform
from orchestration.transform.state import ProjectVersion, current_version, modified_nodes, record_attempt

# what the engine leaves out of the dbt asset's build: the data tests write nothing the marts hold
WITHOUT_TESTS = ("--exclude-resource-type", "test", "unit_test")


class Killed(Exception):
    """The run stopped here, as if its process had been killed."""


PHASES = ("load", "transform", "publish")


@dataclass
class Kill:
    """Raise ``Killed`` at the ``at``-th kill point reached in ``phase`` (None: never)."""

    phase: str | None = None
    at: int = 1
    reached: dict = field(default_factory=dict)

    def point(self, phase: str, where: str) -> bool:
        """Count a kill point; True when the run dies here (the caller raises, after what it must do first)."""
        self.reached[phase] = self.reached.get(phase, 0) + 1
        return phase == self.phase and self.reached[phase] == self.at

    def check(self, phase: str, where: str) -> None:
        if self.point(phase, where):
            raise Killed(where)


def passing_validator(dataset, frame) -> ValidationReport:
    return ValidationReport(dataset, f"{dataset}.json", len(frame), 0, ())


@dataclass
class DbtProject:
    """The dbt project parsed once per process, for every warehouse of the process: parsing does not
    depend on the warehouse's directory, only on its file name (the catalog), which every engine
    warehouse shares (``WAREHOUSE_FILE``)."""

    manifest: dict  # target/manifest.json, as the Dagster definitions read it
    parsed: object  # dbt's own Manifest, handed to every dbtRunner so no invocation parses again
    parse_profile: dict  # the profile it was parsed with (dbt_runner keeps one parse per profile)
    project_dir: Path = DBT_PROJECT_DIR
    version: ProjectVersion = None  # what the project's files say (state.current_version)

    def __post_init__(self):
        if self.version is None:
            self.version = current_version(self.project_dir)

    def build_order(self) -> list[str]:
        """Seeds, then models after the models they select from: an order ``dbt build`` (one thread) may take."""
        seeds = sorted(uid for uid, node in self.manifest["nodes"].items() if node["resource_type"] == "seed")
        return [*seeds, *(node["unique_id"] for node in models_in_build_order(self.manifest))]

    def name(self, unique_id: str) -> str:
        return self.manifest["nodes"][unique_id]["name"]

    def is_model(self, unique_id: str) -> bool:
        return self.manifest["nodes"][unique_id]["resource_type"] == "model"


def load_project(settings: Settings, project_dir: Path = DBT_PROJECT_DIR) -> DbtProject:
    """The project as the dbt asset sees it, parsed with dbt's own parser (partial parse: quick when
    the project did not change since the last parse on this machine)."""
    profile = settings.dbt_env()
    manifest = json.loads(parsed_manifest_json(project_dir, profile))
    return DbtProject(manifest, parsed_manifest(project_dir, profile), profile, project_dir)


def invoke_dbt(settings: Settings, project: DbtProject, args: list[str]) -> None:
    """One in-process dbt invocation on this warehouse; fails the test when dbt fails."""
    from dbt.cli.main import dbtRunner

    target = settings.warehouse_path.parent / "dbt-target"
    # the profile as the dbt asset hands it over: rendered from the settings, never in the environment
    with profiles_dir(project.project_dir, settings.dbt_env()) as profiles:
        try:
            result = dbtRunner(manifest=project.parsed).invoke(
                ["--quiet", "--log-level", "none", "--log-level-file", "none", *args, "--no-write-json",
                 *project_args(project.project_dir, target, profiles)])
        finally:
            release_warehouse()  # the load and publishing that follow open the file themselves
    failed = [f"{node.node.unique_id}: {node.status}: {node.message}" for node in getattr(result.result, "results", None) or []
              if str(node.status) in ("error", "fail", "runtime error", "skipped")]
    if not result.success or failed:
        raise AssertionError(f"dbt {' '.join(args)} failed: {result.exception or failed}")


_selections: dict[tuple[str, ...], frozenset[str]] = {}  # by project directory and selection


def _selected_nodes(project: DbtProject, selection: list[str]) -> tuple[str, ...]:
    """The seeds and models dbt's ``selection`` picks (``dbt ls``, once per selection), in build order."""
    key = (str(project.project_dir), *selection)
    if key not in _selections:
        # the profile parsed already: no second parse
        _selections[key] = frozenset(list_nodes(selection, ("model", "seed", "snapshot"), project.project_dir, project.parse_profile))
    return tuple(uid for uid in project.build_order() if uid in _selections[key])


def transform(settings: Settings, project: DbtProject, run_range: tuple[int, int] | None, kill: Kill) -> None:
    """What the dbt asset (orchestration/platform/dbt_assets.py) does, without Dagster: the same plan,
    the same ``dbt build`` arguments, the tests left out."""
    warehouse = warehouse_for(settings)
    warehouse.record_source_contracts(source_contract_rows(SOURCES))  # the source_contracts asset, before the build
    publication = current_publication(settings.serving_dir)
    pending = warehouse.load_history(after_seq=published_load_seq(settings.serving_dir))
    load_seq = warehouse.last_load_seq()
    rebuilt_whole = rebuild_changed_relations(warehouse, project.manifest, project.project_dir, log=lambda message: None)
    modified = None if rebuilt_whole else modified_nodes(warehouse, publication, project.version, project.project_dir,
                                                         project.parse_profile)
    plan = plan_transform(publication is not None, pending, run_range, (settings.first_year, settings.last_year),
                          {spec.name for spec in SOURCES}, modified, project.manifest)
    years, selection = plan.years, plan.selection or []
    args = [*dbt_build_args(dbt_vars(years)), *selection, *WITHOUT_TESTS]
    nodes = _selected_nodes(project, selection) if selection else tuple(project.build_order())
    attempt = record_attempt(warehouse, project.version, None, publication, project.project_dir, project.parse_profile)
    for position, unique_id in enumerate(nodes):
        if project.is_model(unique_id) and kill.point("transform", f"transform before {project.name(unique_id)}"):
            done = nodes[:position]
            if done:  # what dbt built before the process died
                invoke_dbt(settings, project, [*dbt_build_args(dbt_vars(years)), "--select",
                                               *(project.name(uid) for uid in done), *WITHOUT_TESTS])
            raise Killed(f"transform before {project.name(unique_id)}")
    invoke_dbt(settings, project, args)
    warehouse.record_transform_build(load_seq, project.version.transform_fingerprint, None, years, attempt)


def publish(settings: Settings, kill: Kill, run_id: str) -> dict:
    """What the publishing step does (no dbt docs: they depend on the project, not on the data)."""
    build = warehouse_for(settings).last_transform_build() or {}
    original_switch, original_report = publishing._switch, publishing._write_report

    def report_then_maybe_die(release_dir):
        kill.check("publish", "publish: candidate built, before the report")
        written = original_report(release_dir)
        kill.check("publish", "publish: report written, before the audit and the switch")
        return written

    def switch_then_maybe_die(serving_dir, release_dir):
        original_switch(serving_dir, release_dir)
        kill.check("publish", "publish: switched, before old releases are pruned")

    publishing._switch, publishing._write_report = switch_then_maybe_die, report_then_maybe_die
    try:
        return publishing.publish(settings, run_id=run_id, accept_shrink=True, log=lambda message: None,
                                  warehouse_load_seq=build.get("load_seq", 0),
                                  transform_fingerprint=build.get("transform_fingerprint"),
                                  transform_attempt=build.get("attempt_seq"))
    finally:
        publishing._switch, publishing._write_report = original_switch, original_report


@dataclass
class Engine:
    """Runs the operations of a sequence on one warehouse and serving directory."""

    settings: Settings
    project: DbtProject
    parse_cache: dict = field(default_factory=dict)
    runs: int = 0

    def _parse(self, spec):
        def parse(landings, settings):
            key = (spec.name, tuple(sorted(landing.sha256 for landing in landings)), settings.countries)
            if key not in self.parse_cache:
                self.parse_cache[key] = spec.parse(landings, settings)
            return {name: frame.copy() for name, frame in self.parse_cache[key].items()}
        return parse

    def run(self, years: tuple[int, int], forced: bool, kill: Kill | None = None) -> bool:
        """A full build or backfill (``forced``) or a daily run; True when it published."""
        kill = kill or Kill()
        self.runs += 1
        run_id = f"engine-{self.runs}"
        published_seq = published_load_seq(self.settings.serving_dir)
        changed = False
        for spec in SOURCES:
            kill.check("load", f"load: before {spec.name}")
            outcome = run_load(spec, self.settings, years, forced, published_seq, run_id=run_id, log=lambda message: None,
                               validate=passing_validator, parse=self._parse(spec))
            assert not outcome.failed
            changed |= outcome.plan.action != SKIP
        if not (forced or changed):
            return False
        transform(self.settings, self.project, years, kill)
        kill.check("publish", "publish: before it starts")
        publish(self.settings, kill, run_id)
        return True


def engine_settings(root: Path, snapshot_dir: Path, countries: tuple[str, ...] | None = None) -> Settings:
    env = {
        "KPI_SOURCE_MODE": "replay", "KPI_SNAPSHOT_DIR": str(snapshot_dir),
        "KPI_WAREHOUSE_PATH": str(root / "warehouse" / WAREHOUSE_FILE), "KPI_SERVING_DIR": str(root / "serving"),
        "KPI_LANDING_DIR": str(root / "landing"), "KPI_LOG_DIR": str(root / "logs"),
        # its own results store: publishing renders the Data Docs of every stored result, which other
        # workers' tests would be writing and pruning in the checkout's data/validation meanwhile
        "KPI_VALIDATION_DIR": str(root / "validation"),
    }
    if countries:
        env["KPI_COUNTRIES"] = ",".join(countries)
    return load_settings(env)


def published_marts(serving_dir: Path) -> dict[str, list[tuple]]:
    """Every published mart, rows sorted, floats to 10 significant digits (sums in another row order
    differ in the last bits), without the publication's own record."""
    def plain(value):
        if isinstance(value, float):
            return float(f"{value:.10g}")
        if isinstance(value, (dt.date, dt.datetime)):
            return value.isoformat()
        return value

    with duckdb.connect(str(serving_dir / publishing.SERVING_FILE), read_only=True) as conn:
        tables = [name for (name,) in conn.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts' AND table_name <> 'publication' ORDER BY 1"
        ).fetchall()]
        return {table: sorted((tuple(plain(v) for v in row) for row in conn.execute(f"SELECT * FROM marts.{identifier(table)}").fetchall()),
                              key=repr)
                for table in tables}
