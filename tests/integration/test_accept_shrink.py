"""Promise 28's escape hatch, as users type it: the audit refuses a publication that loses a year,
then the same with `--accept-shrink` (what `make daily ARGS=--accept-shrink` runs)
publishes it, and the publication record says the loss was accepted."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from orchestration.publish.publication import REJECTED_DIR, current_publication
from tests.conftest import REPO_ROOT, copy_of_built
from tests.releases import new_homicide_release

pytestmark = pytest.mark.integration


def homicide_rows_of(serving: Path, year: int) -> int:
    with duckdb.connect(str(serving / "kpi.duckdb"), read_only=True) as conn:
        return conn.execute("select count(*) from marts.fct_homicides where year = ?", [year]).fetchone()[0]


def test_the_cli_flag_accept_shrink_publishes_what_the_audit_refused(built_warehouse, tmp_path):
    env = copy_of_built(built_warehouse, tmp_path)
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(REPO_ROOT / "dagster.yaml", home / "dagster.yaml")
    env = {**os.environ, **env, "DAGSTER_HOME": str(home), "KPI_LOG_DIR": str(tmp_path / "logs")}
    serving = Path(env["KPI_SERVING_DIR"])
    live = current_publication(serving)
    assert homicide_rows_of(serving, 2005) > 0
    # a newer homicide release that no longer has 2005
    new_homicide_release(tmp_path / "snapshot", "2026-07-15__synthetic__no-2005", "2026-07-15", drop_years=(2005,))

    refused = subprocess.run([sys.executable, "-m", "orchestration.cli", "daily"], cwd=REPO_ROOT, env=env,
                             capture_output=True, text=True, timeout=900)
    output = refused.stdout + refused.stderr
    assert refused.returncode == 1, output[-3000:]
    assert "publication audit failed" in output and "lost 2005" in output and "--accept-shrink" in output, output[-3000:]
    assert current_publication(serving)["publication_id"] == live["publication_id"]
    assert len(list((serving / REJECTED_DIR).iterdir())) == 1

    # the same, told the loss is deliberate: what `make daily ARGS=--accept-shrink` runs (make -n prints it
    # without running it; the run itself is the CLI's, with this interpreter, so a copy of the project
    # without its own .venv runs it too)
    planned = subprocess.run(["make", "-n", "--no-print-directory", "daily", "ARGS=--accept-shrink"], cwd=REPO_ROOT,
                             env=env, capture_output=True, text=True, timeout=60)
    assert "-m orchestration.cli daily --accept-shrink" in planned.stdout, planned.stdout + planned.stderr
    accepted = subprocess.run([sys.executable, "-m", "orchestration.cli", "daily", "--accept-shrink"], cwd=REPO_ROOT,
                              env=env, capture_output=True, text=True, timeout=900)
    output = accepted.stdout + accepted.stderr
    assert accepted.returncode == 0, output[-3000:]
    record = current_publication(serving)
    assert record["publication_id"] != live["publication_id"]
    assert record["audit"]["accepted"] is True
    assert "HND homicide_rate: lost 2005 (1 year(s))" in record["audit"]["findings"], record["audit"]
    assert homicide_rows_of(serving, 2005) == 0
