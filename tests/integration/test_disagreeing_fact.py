"""Promise 28, its second half, as stated: a fact that disagrees with ``kpi_annual`` fails its dbt test
``agrees_with_kpi_annual`` (the message shows the failing rows) and never reaches publishing.

A copy of the project whose ``fct_homicides`` doubles one value (a bug as a fact model could have it) runs
``python -m orchestration.cli backfill`` over the built warehouse: the run fails on the agreement test,
naming the fact and the row, and the serving directory is as it was (no publication, no candidate).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from orchestration.publish.publication import RELEASES_DIR, current_publication
from tests.mutations import project_copy

pytestmark = pytest.mark.integration

MODEL = "dbt_project/models/marts/worldbank/fct_homicides.sql"
CORRECT = "cast(homicides.homicide_rate_per_100k as double precision) as homicide_rate_per_100k"
DISAGREEING = ("cast(homicides.homicide_rate_per_100k * case when homicides.country_iso3 = 'HND' and homicides.year = 2010 "
               "then 2 else 1 end as double precision) as homicide_rate_per_100k")


def test_a_fact_that_disagrees_with_kpi_annual_is_never_published(built_warehouse, tmp_path):
    _, _, result = built_warehouse
    project = project_copy(tmp_path / "project")
    model = project / MODEL
    assert model.read_text().count(CORRECT) == 1
    model.write_text(model.read_text().replace(CORRECT, DISAGREEING))
    for part in ("warehouse", "serving"):
        shutil.copytree(result.build_root / part, tmp_path / part, symlinks=True)
    serving = tmp_path / "serving"
    live = current_publication(serving)
    releases = sorted(path.name for path in (serving / RELEASES_DIR).iterdir())

    env = {name: value for name, value in os.environ.items() if not name.startswith(("KPI_", "DAGSTER_", "PYTHONPATH"))}
    env.update(PYTHONPATH=str(project), DAGSTER_HOME=str(tmp_path / "dagster_home"), DBT_SEND_ANONYMOUS_USAGE_STATS="false",
               KPI_WAREHOUSE_PATH=str(tmp_path / "warehouse" / "kpi.duckdb"), KPI_SERVING_DIR=str(serving),
               KPI_SNAPSHOT_DIR=str(project / "snapshot"), KPI_LANDING_DIR=str(tmp_path / "landing"),
               KPI_LOG_DIR=str(tmp_path / "logs"), KPI_FAILURES_DIR=str(tmp_path / "failures"))
    run = subprocess.run([sys.executable, "-m", "orchestration.cli", "backfill", "--from", "2010", "--to", "2010"],
                         cwd=project, env=env, capture_output=True, text=True, timeout=1800)
    output = run.stdout + run.stderr
    assert run.returncode == 1, output[-4000:]
    assert "FAILED" in run.stdout
    [record_file] = list((tmp_path / "failures").glob("*.json"))
    message = json.loads(record_file.read_text())["message"]
    assert "agrees_with_kpi_annual" in message and "fct_homicides" in message, message[:3000]
    assert "HND" in message and "2010" in message, message[:3000]  # the failing row is shown
    # never reached publishing: the live publication is the same, and no candidate was written or kept
    assert current_publication(serving) == live
    assert sorted(path.name for path in (serving / RELEASES_DIR).iterdir()) == releases
    assert not (serving / "rejected").exists()
