"""The framework reference: a trivial one-model dbt-duckdb project, materialized by
``dagster asset materialize`` with Dagster's defaults, in this virtual environment.

It is what the stack itself costs to build one trivial model (CLI start, code location load, the
default multiprocess executor, a dbt process); the pipeline's full build is compared with it.

    .venv/bin/python -m bench.framework_reference          # prints the seconds of each run
"""

from __future__ import annotations

import statistics
import subprocess
import sys
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


def venv_bin(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


def write_reference_project(root: Path) -> Path:
    project = root / "project"
    (project / "models").mkdir(parents=True)
    (project / "dbt_project.yml").write_text(DBT_PROJECT_YML)
    (project / "profiles.yml").write_text(
        f"trivial:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: {root / 'trivial.duckdb'}\n")
    (project / "models" / "one.sql").write_text(MODEL_SQL)
    (root / "definitions.py").write_text(DEFINITIONS_PY)
    (root / "dagster_home").mkdir()
    return project


def reference_env(root: Path) -> dict[str, str]:
    import os

    # as in an activated virtual environment: dagster-dbt's default finds `dbt` on PATH
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    return {**os.environ, "PATH": path, "DAGSTER_HOME": str(root / "dagster_home"), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}


def measure(runs: int = 3) -> dict:
    """Seconds of ``runs`` materializations (the manifest is prepared beforehand, as for the pipeline)."""
    with work_root("kpi-bench-reference-") as root:
        project = write_reference_project(root)
        env = reference_env(root)
        subprocess.run([venv_bin("dbt"), "parse", "--quiet", "--project-dir", str(project), "--profiles-dir", str(project)],
                       env=env, check=True, capture_output=True)
        seconds = []
        for _ in range(runs):
            run = run_measured([venv_bin("dagster"), "asset", "materialize", "-f", str(root / "definitions.py"), "--select", "*"],
                               env=env, cwd=root)
            if run.returncode != 0:
                raise RuntimeError(f"the framework reference failed:\n{run.stderr[-3000:]}")
            seconds.append(run.seconds)
    return {"seconds": statistics.median(seconds), "runs": seconds}


if __name__ == "__main__":
    sys.path.insert(0, str(PROJECT_ROOT))
    result = measure()
    print(f"framework reference: median {result['seconds']:.1f} s over {', '.join(f'{s:.1f}' for s in result['runs'])}")
