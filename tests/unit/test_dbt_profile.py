"""dbt's profile from the warehouse's settings, without the process environment (orchestration/transform/dbt_runner.py)."""

from __future__ import annotations

import os
import stat

import yaml

from orchestration.config import load_settings
from orchestration.core.settings import DBT_PROJECT_DIR
from orchestration.transform.dbt_runner import PROFILE_DIR_PREFIX, profiles_dir, remove_orphaned_profiles, render_profiles


def test_the_profile_is_the_projects_rendered_with_the_settings_values():
    settings = load_settings({"KPI_WAREHOUSE": "postgres", "KPI_PG_HOST": "db.example", "KPI_PG_PORT": "5433",
                              "KPI_PG_USER": "loader", "KPI_PG_PASSWORD": "s3cret{{ x }}%", "KPI_PG_DATABASE": "kpi"})
    profile = yaml.safe_load(render_profiles(DBT_PROJECT_DIR, settings.dbt_env()))["kpi_warehouse"]
    assert profile["target"] == "postgres"
    assert profile["outputs"]["postgres"] == {"type": "postgres", "host": "db.example", "port": 5433, "user": "loader",
                                              "password": "{% raw %}s3cret{{ x }}%{% endraw %}", "dbname": "kpi",
                                              "schema": "public", "threads": 4}
    assert profile["outputs"]["duckdb"]["path"] == str(settings.warehouse_path)


def test_the_profile_file_is_private_and_goes_with_the_invocation():
    settings = load_settings({"KPI_PG_PASSWORD": "s3cret"})
    with profiles_dir(DBT_PROJECT_DIR, settings.dbt_env()) as directory:
        written = directory / "profiles.yml"
        assert stat.S_IMODE(written.stat().st_mode) == 0o600 and stat.S_IMODE(directory.stat().st_mode) == 0o700
        assert "s3cret" in written.read_text()
    assert not directory.exists()
    assert "KPI_PG_PASSWORD" not in os.environ
    with profiles_dir(DBT_PROJECT_DIR, None) as directory:  # no profile given: dbt reads the project's, by hand
        assert directory == DBT_PROJECT_DIR


def test_a_profile_a_killed_process_left_goes_at_the_next_invocation(tmp_path):
    import subprocess
    import sys

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    orphan = tmp_path / f"{PROFILE_DIR_PREFIX}{int(gone.stdout)}-abc"
    live = tmp_path / f"{PROFILE_DIR_PREFIX}{os.getppid()}-def"  # a process that is running: its profile stays
    for directory in (orphan, live):
        directory.mkdir()
        (directory / "profiles.yml").write_text("password: s3cret")
    assert remove_orphaned_profiles(tmp_path) == [orphan]
    assert not orphan.exists() and live.exists()
