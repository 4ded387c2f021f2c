"""The framework reference: a trivial one-model dbt-duckdb project, materialized by
``dagster asset materialize`` with Dagster's defaults, in this virtual environment.

It is what the stack itself costs to build one trivial model (CLI start, code location load, the
default multiprocess executor, a dbt process); the pipeline's full build is compared with it.

The same at this project's shape (``--shaped``): as many seeds, models and data tests as the
project's own manifest holds, each model depending on the same parents and materialized the same
way, every model returning one row, every test of a model a ``not_null`` on it, every other test
(singular, or on a seed) a singular test of no rows. No source, no load, no validation, no publication: what Dagster and dbt cost for
this many nodes, used the standard way (dagster-dbt's ``dbt build`` stream, each data test an asset
check), with nothing to compute. The pipeline's full build does everything that does, and its work.

    .venv/bin/python -m bench.framework_reference             # prints the seconds of each run
    .venv/bin/python -m bench.framework_reference --shaped    # the same at the project's shape
    .venv/bin/python -m bench.framework_reference --shaped --in-process   # dbt run as the pipeline runs it
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from bench.common import PROJECT_ROOT, run_measured, work_root

DBT_PROJECT_YML = "name: trivial\nversion: '1.0'\nprofile: trivial\n"
MODEL_SQL = "select 1 as one\n"
DEFINITIONS_PY = '''
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource, DbtProject, dbt_assets

project = DbtProject(project_dir=Path(__file__).parent / "project", profiles_dir=Path(__file__).parent / "project")


@dbt_assets(manifest=project.manifest_path)
def trivial_models(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    yield from dbt.cli(["build"], context=context).stream()


defs = dg.Definitions(assets=[trivial_models], resources={"dbt": DbtCliResource(project_dir=project)})
'''


# The same shaped project through this pipeline's own way of running dbt: one process (python, not the
# dagster CLI), Dagster's in-process executor on the instance of the repository's dagster.yaml, and
# dbt in-process by orchestration/transform/dbt_runner.py's ``build``, as the kpi_dbt_models step runs it.
IN_PROCESS_PY = '''
import sys
from pathlib import Path

sys.path.insert(0, {project_root!r})
import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, dbt_assets

from orchestration.transform.dbt_runner import build

PROJECT = Path(__file__).parent / "project"
TRANSLATOR = DagsterDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


@dbt_assets(manifest=PROJECT / "target" / "manifest.json", dagster_dbt_translator=TRANSLATOR)
def trivial_models(context: dg.AssetExecutionContext):
    yield from build(context, ["build"], project_dir=PROJECT)


job = dg.define_asset_job("all", selection="*")
defs = dg.Definitions(assets=[trivial_models], jobs=[job])
# the pipeline's CLI does not print every event either
result = defs.resolve_job_def("all").execute_in_process(
    instance=dg.DagsterInstance.get(), raise_on_error=False,
    run_config={{"loggers": {{"console": {{"config": {{"log_level": "WARNING"}}}}}}}})
sys.exit(0 if result.success else 1)
'''


def venv_bin(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


@dataclass(frozen=True)
class ProjectShape:
    """The nodes of a dbt project, without their SQL: seeds, models (name -> materialization, parents,
    data tests attached) and the data tests attached to no model (singular tests, tests of seeds)."""

    seeds: tuple[str, ...]
    models: dict[str, tuple[str, tuple[str, ...], int]]
    unattached_tests: int

    @property
    def counts(self) -> str:
        tests = sum(tests for _, _, tests in self.models.values()) + self.unattached_tests
        return f"{len(self.seeds)} seeds, {len(self.models)} models, {tests} data tests"


def project_shape(manifest: dict) -> ProjectShape:
    """The shape of a project from its manifest.json (incremental models count as tables: one row,
    nothing to merge)."""
    nodes = manifest["nodes"]
    seeds = tuple(sorted(node["name"] for node in nodes.values() if node["resource_type"] == "seed"))
    tests_on: dict[str, int] = {}
    unattached = 0
    for node in nodes.values():
        if node["resource_type"] == "test":
            attached = node.get("attached_node")
            if attached in nodes and nodes[attached]["resource_type"] == "model":
                tests_on[attached] = tests_on.get(attached, 0) + 1
            else:
                unattached += 1
    models = {}
    for unique_id, node in sorted(nodes.items()):
        if node["resource_type"] != "model":
            continue
        parents = tuple(sorted(nodes[parent]["name"] for parent in node["depends_on"]["nodes"]
                               if parent in nodes and nodes[parent]["resource_type"] in ("model", "seed")))
        materialized = "view" if node["config"]["materialized"] == "view" else "table"
        models[node["name"]] = (materialized, parents, tests_on.get(unique_id, 0))
    return ProjectShape(seeds, models, unattached)


def write_shaped_models(project: Path, shape: ProjectShape) -> None:
    """Trivial seeds, models and tests in ``project`` with the nodes and edges of ``shape``."""
    (project / "seeds").mkdir()
    (project / "tests").mkdir()
    for seed in shape.seeds:
        (project / "seeds" / f"{seed}.csv").write_text("id,name\n1,one\n")
    schema = ["version: 2", "models:"]
    for name, (materialized, parents, tests) in shape.models.items():
        depends = "".join(f"-- depends_on: {{{{ ref('{parent}') }}}}\n" for parent in parents)
        columns = ", ".join(f"1 as c{index}" for index in range(max(tests, 1)))
        (project / "models" / f"{name}.sql").write_text(
            f"{{{{ config(materialized='{materialized}') }}}}\n{depends}select {columns}\n")
        if tests:
            schema += [f"  - name: {name}", "    columns:"]
            for index in range(tests):
                schema += [f"      - name: c{index}", "        data_tests: [not_null]"]
    (project / "models" / "schema.yml").write_text("\n".join(schema) + "\n")
    for index in range(shape.unattached_tests):
        (project / "tests" / f"singular_{index}.sql").write_text("select 1 as failing where 1 = 0\n")


def write_reference_project(root: Path, shape: ProjectShape | None = None) -> Path:
    """The one-model project, or (``shape``) a project of trivial nodes with that shape."""
    project = root / "project"
    (project / "models").mkdir(parents=True)
    (project / "dbt_project.yml").write_text(DBT_PROJECT_YML)
    (project / "profiles.yml").write_text(
        f"trivial:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: {root / 'trivial.duckdb'}\n")
    if shape is None:
        (project / "models" / "one.sql").write_text(MODEL_SQL)
    else:
        write_shaped_models(project, shape)
    (root / "definitions.py").write_text(DEFINITIONS_PY)
    (root / "dagster_home").mkdir()
    return project


def own_project_shape() -> ProjectShape:
    """The shape of this repository's dbt project (its manifest, parsed as the pipeline parses it)."""
    from orchestration.transform.manifest import ensure_manifest

    return project_shape(json.loads(ensure_manifest().read_text()))


def reference_env(root: Path) -> dict[str, str]:
    import os

    # as in an activated virtual environment: dagster-dbt's default finds `dbt` on PATH
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    return {**os.environ, "PATH": path, "DAGSTER_HOME": str(root / "dagster_home"), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}


def measure(runs: int = 3, shape: ProjectShape | None = None, in_process: bool = False) -> dict:
    """Seconds of ``runs`` materializations (the manifest is prepared beforehand, as for the pipeline),
    of the one-model project or of one with ``shape``; ``in_process``: run as the pipeline runs dbt
    (``IN_PROCESS_PY``), not by ``dagster asset materialize``."""
    with work_root("kpi-bench-reference-") as root:
        project = write_reference_project(root, shape)
        env = reference_env(root)
        subprocess.run([venv_bin("dbt"), "parse", "--quiet", "--project-dir", str(project), "--profiles-dir", str(project)],
                       env=env, check=True, capture_output=True)
        if in_process:
            (root / "dagster_home" / "dagster.yaml").write_text((PROJECT_ROOT / "dagster.yaml").read_text())
            (root / "in_process.py").write_text(IN_PROCESS_PY.format(project_root=str(PROJECT_ROOT)))
            command = [venv_bin("python"), str(root / "in_process.py")]
        else:
            command = [venv_bin("dagster"), "asset", "materialize", "-f", str(root / "definitions.py"), "--select", "*"]
        seconds = []
        for _ in range(runs):
            run = run_measured(command, env=env, cwd=root)
            if run.returncode != 0:
                raise RuntimeError(f"the framework reference failed:\n{run.stderr[-3000:]}")
            seconds.append(run.seconds)
    return {"seconds": statistics.median(seconds), "runs": seconds}


if __name__ == "__main__":
    sys.path.insert(0, str(PROJECT_ROOT))
    shaped, in_process = "--shaped" in sys.argv[1:], "--in-process" in sys.argv[1:]
    shape = own_project_shape() if shaped else None
    result = measure(shape=shape, in_process=in_process)
    what = f"framework reference at the project's shape ({shape.counts})" if shape else "framework reference"
    what += ", run as the pipeline runs dbt (in-process)" if in_process else ""
    print(f"{what}: median {result['seconds']:.1f} s over {', '.join(f'{s:.1f}' for s in result['runs'])}")
