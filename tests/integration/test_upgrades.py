"""Upgrades keep working: a warehouse and publication made by an earlier version of this repository,
then today's code's `make daily` and `make run` over them, each publishing what a fresh build of
today's code publishes, table for table and row for row.

The earlier versions are real commits of this repository, built once per commit with their own
code and snapshot (tests/upgrades.py, cached under .cache/upgrades/). When a version is cut, add
its commit to EARLIER_VERSIONS.
"""

from __future__ import annotations

import json

import duckdb
import pytest

from orchestration.upgrade import VERSIONS_TABLE
from orchestration.version import project_version
from tests.publications import publication_differences
from tests.upgrades import cli, copy_build, earlier_build, run_env
from tests.conftest import REPO_ROOT

EARLIER_VERSIONS = [
    # the main of 2026-11-28 that issue 25 upgraded from: a ledger without releases, a seed with
    # eight columns where today's has fourteen, no sources of issue 14
    pytest.param("28bfb9ee9e71e072ec306ad5fc552dbf66e8e07f", id="main-2026-11-28"),
    # 0.1.0: the last main before versions (no version recorded anywhere)
    pytest.param("7726f43391f76a94f828941e23e75ead2827c084", id="0.1.0"),
]


def recorded_versions(warehouse_file) -> list[tuple]:
    with duckdb.connect(str(warehouse_file), read_only=True) as connection:
        return connection.execute(f"SELECT version, previous_version, changes FROM meta.{VERSIONS_TABLE} "
                                  "ORDER BY recorded_at").fetchall()


@pytest.mark.integration
@pytest.mark.parametrize("commit", EARLIER_VERSIONS)
def test_an_upgrade_over_an_earlier_versions_warehouse_publishes_what_a_fresh_build_does(commit, built_warehouse, tmp_path):
    fresh = built_warehouse[2].build_root / "first_publication" / "kpi.duckdb"  # today's code, a fresh full build
    build = earlier_build(commit) / "build"
    earlier_publication = json.loads((build / "serving" / "publication.json").read_text())
    assert "version" not in earlier_publication  # built by the earlier code, not today's
    copy_build(build, tmp_path)
    env = run_env(tmp_path)
    serving = tmp_path / "serving"

    daily, daily_seconds = cli(REPO_ROOT, env, "daily")
    assert daily.returncode == 0, daily.stdout[-4000:] + daily.stderr[-4000:]
    assert publication_differences(fresh, serving / "kpi.duckdb") == []
    versions = recorded_versions(tmp_path / "warehouse" / "kpi.duckdb")
    assert versions[0][:2] == (project_version(), "0.1.0")  # upgraded from the unversioned warehouse, recorded
    # the repository's dagster.yaml is the one in force (the earlier version's copy was replaced and kept)
    assert (tmp_path / "dagster_home" / "dagster.yaml").read_bytes() == (REPO_ROOT / "dagster.yaml").read_bytes()
    assert (tmp_path / "dagster_home" / f"dagster.yaml.before-{project_version()}").is_file()

    full, full_seconds = cli(REPO_ROOT, env, "run")
    assert full.returncode == 0, full.stdout[-4000:] + full.stderr[-4000:]
    assert publication_differences(fresh, serving / "kpi.duckdb") == []
    publication = json.loads((serving / "publication.json").read_text())
    assert publication["version"] == project_version()
    with duckdb.connect(str(serving / "kpi.duckdb"), read_only=True) as connection:
        assert connection.execute("SELECT version FROM marts.publication").fetchall() == [(project_version(),)]
    print(f"upgrade from {commit[:7]}: make daily {daily_seconds:.1f} s, make run {full_seconds:.1f} s")
