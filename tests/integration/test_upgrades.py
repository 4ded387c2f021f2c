"""Upgrades keep working: a warehouse and publication made by an earlier version of this repository,
then today's code's `make daily` and `make run` over them, each publishing what a fresh build of
today's code publishes, table for table and row for row.

The earlier versions are real commits of this repository, built once per commit with their own
code and snapshot (tests/upgrades.py, cached per machine under ~/.cache/kpi-warehouse-tests/). When a version is cut, add
its commit to EARLIER_VERSIONS.
"""

from __future__ import annotations

import json

import duckdb
import pytest

from orchestration.load.upgrade import VERSIONS_TABLE
from orchestration.core.version import project_version
from tests.publications import marts_tables, publication_differences
from tests.upgrades import cli, copy_build, earlier_build, run_env
from tests.conftest import REPO_ROOT

EARLIER_VERSIONS = [
    # the main of 2026-11-28 that issue 25 upgraded from: a ledger without releases, a seed with
    # eight columns where today's has fourteen, no sources of issue 14
    pytest.param("28bfb9ee9e71e072ec306ad5fc552dbf66e8e07f", id="main-2026-11-28"),
    # 0.1.0: the last main before versions (no version recorded anywhere)
    pytest.param("7726f43391f76a94f828941e23e75ead2827c084", id="0.1.0"),
    # 0.2.0: versions recorded; before the legacy tables, the lineage of every cell, GX's file context
    pytest.param("d3267cdb4e6a9e470a19b66ecdf336843aff50d0", id="0.2.0"),
    # 0.3.1: publications that name no dbt build (state:modified+ has nothing to compare with), the
    # 13 marts.legacy_* tables 0.4.0 removed
    pytest.param("68955b8180db73420f88417df13ff7a3516ed74e", id="0.3.1"),
]
# the version each earlier commit's warehouse and publication say they are (None: none recorded)
RECORDED_VERSION = {"28bfb9ee9e71e072ec306ad5fc552dbf66e8e07f": None, "7726f43391f76a94f828941e23e75ead2827c084": None,
                    "d3267cdb4e6a9e470a19b66ecdf336843aff50d0": "0.2.0", "68955b8180db73420f88417df13ff7a3516ed74e": "0.3.1"}
# 0.3.1 (main of 2026-12-06): its warehouse and live publication hold the 13 marts.legacy_* tables
# (deprecated in 0.3.0) whose models the project has since removed
WITH_LEGACY_TABLES = "68955b8180db73420f88417df13ff7a3516ed74e"


def relations_no_model_defines(warehouse_file) -> list[str]:
    """The tables and views of dbt's schemas in a warehouse that today's dbt project does not define."""
    from orchestration.load.upgrade import defined_relations
    from orchestration.transform.manifest import ensure_manifest

    defined = defined_relations(json.loads(ensure_manifest().read_text()))
    schemas = sorted({schema for schema, _ in defined})
    with duckdb.connect(str(warehouse_file), read_only=True) as connection:
        present = connection.execute("SELECT table_schema, table_name FROM information_schema.tables "
                                     f"WHERE table_schema IN ({', '.join('?' for _ in schemas)})", schemas).fetchall()
    return sorted(f"{schema}.{name}" for schema, name in present if (schema, name) not in defined)


def parquet_files(serving) -> list[str]:
    return sorted(path.name for path in (serving / "parquet").iterdir())


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
    assert earlier_publication.get("version") == RECORDED_VERSION[commit]  # built by the earlier code, not today's
    earlier_config_differs = (build / "dagster_home" / "dagster.yaml").read_bytes() != (REPO_ROOT / "dagster.yaml").read_bytes()
    copy_build(build, tmp_path)
    env = run_env(tmp_path)
    serving = tmp_path / "serving"

    daily, daily_seconds = cli(REPO_ROOT, env, "daily")
    assert daily.returncode == 0, daily.stdout[-4000:] + daily.stderr[-4000:]
    assert publication_differences(fresh, serving / "kpi.duckdb") == []
    versions = recorded_versions(tmp_path / "warehouse" / "kpi.duckdb")
    # upgraded from the earlier version (an unversioned warehouse counts as 0.1.0), recorded: the first
    # record today's version wrote (the earlier version's own records come before it)
    upgrade = next(version for version in versions if version[0] == project_version())
    assert upgrade[:2] == (project_version(), RECORDED_VERSION[commit] or "0.1.0"), versions
    # the repository's dagster.yaml is the one in force (an earlier version's different copy was replaced and kept)
    assert (tmp_path / "dagster_home" / "dagster.yaml").read_bytes() == (REPO_ROOT / "dagster.yaml").read_bytes()
    assert (tmp_path / "dagster_home" / f"dagster.yaml.before-{project_version()}").is_file() == earlier_config_differs

    full, full_seconds = cli(REPO_ROOT, env, "run")
    assert full.returncode == 0, full.stdout[-4000:] + full.stderr[-4000:]
    assert publication_differences(fresh, serving / "kpi.duckdb") == []
    publication = json.loads((serving / "publication.json").read_text())
    assert publication["version"] == project_version()
    with duckdb.connect(str(serving / "kpi.duckdb"), read_only=True) as connection:
        assert connection.execute("SELECT version FROM marts.publication").fetchall() == [(project_version(),)]
    print(f"upgrade from {commit[:7]}: make daily {daily_seconds:.1f} s, make run {full_seconds:.1f} s")


@pytest.mark.integration
def test_a_build_over_a_warehouse_with_tables_of_removed_models_drops_them_and_publishes_without_them(
        built_warehouse, tmp_path):
    fresh = built_warehouse[2].build_root / "first_publication" / "kpi.duckdb"
    build = earlier_build(WITH_LEGACY_TABLES) / "build"
    copy_build(build, tmp_path)
    warehouse_file, serving = tmp_path / "warehouse" / "kpi.duckdb", tmp_path / "serving"
    removed = relations_no_model_defines(warehouse_file)
    assert len([name for name in removed if name.startswith("marts.legacy_")]) == 13, removed
    assert "legacy_fct_asylum_usa" in marts_tables(serving / "kpi.duckdb")  # and published by that version

    full, _ = cli(REPO_ROOT, run_env(tmp_path), "run")
    assert full.returncode == 0, full.stdout[-4000:] + full.stderr[-4000:]
    # gone from the warehouse (and recorded), from the publication's DuckDB file and its Parquet
    # files; the audit did not refuse the publication for the tables it no longer has
    assert relations_no_model_defines(warehouse_file) == []
    assert publication_differences(fresh, serving / "kpi.duckdb") == []
    assert parquet_files(serving) == parquet_files(fresh.parent)
    assert not any("legacy_" in table for table in json.loads((serving / "publication.json").read_text())["row_counts"])
    dropped = [change for version in recorded_versions(warehouse_file) for change in json.loads(version[2])
               if change.endswith("dropped (no model defines it any more)")]
    assert sorted(change.split(" ")[1] for change in dropped) == removed


# --- PostgreSQL ------------------------------------------------------------------------------------

POSTGRES_EARLIER_VERSIONS = [
    # 0.1.0, the first version with the PostgreSQL warehouse (28bfb9e had none)
    pytest.param("7726f43391f76a94f828941e23e75ead2827c084", id="0.1.0-postgres"),
]


@pytest.fixture
def cluster():
    from tests.pg import running_cluster

    with running_cluster() as cluster:
        yield cluster


@pytest.mark.integration
@pytest.mark.parametrize("commit", POSTGRES_EARLIER_VERSIONS)
def test_an_upgrade_over_an_earlier_versions_postgres_warehouse_publishes_what_a_fresh_build_does(
        commit, built_warehouse, cluster, tmp_path):
    from tests.upgrades import postgres_build, restore_postgres_build

    fresh = built_warehouse[2].build_root / "first_publication" / "kpi.duckdb"
    build = earlier_build(commit, postgres_build, engine="postgres") / "build"
    restore_postgres_build(build, cluster)
    copy_build(build, tmp_path, parts=("serving", "dagster_home"))
    env = run_env(tmp_path, KPI_WAREHOUSE="postgres", **cluster.env())
    serving = tmp_path / "serving"

    daily, daily_seconds = cli(REPO_ROOT, env, "daily")
    assert daily.returncode == 0, daily.stdout[-4000:] + daily.stderr[-4000:]
    assert publication_differences(fresh, serving / "kpi.duckdb", across_engines=True) == []
    full, full_seconds = cli(REPO_ROOT, env, "run")
    assert full.returncode == 0, full.stdout[-4000:] + full.stderr[-4000:]
    assert publication_differences(fresh, serving / "kpi.duckdb", across_engines=True) == []
    assert json.loads((serving / "publication.json").read_text())["version"] == project_version()
    conn = cluster.connect()
    try:
        with conn.cursor() as cursor:
            cursor.execute(f"SELECT version, previous_version FROM meta.{VERSIONS_TABLE} ORDER BY recorded_at")
            assert cursor.fetchall()[0] == (project_version(), "0.1.0")
    finally:
        conn.close()
    print(f"upgrade from {commit[:7]} on PostgreSQL: make daily {daily_seconds:.1f} s, make run {full_seconds:.1f} s")


@pytest.mark.integration
def test_on_postgres_a_changed_seed_is_dropped_with_its_views_and_a_newer_warehouse_refused(cluster, tmp_path):
    from orchestration.transform.manifest import ensure_manifest
    from orchestration.core.postgres import PostgresTarget
    from orchestration.core.settings import DBT_PROJECT_DIR
    from orchestration.load.upgrade import UpgradeRefused, prepare_warehouse, rebuild_changed_relations
    from orchestration.load.postgres_warehouse import PostgresWarehouse

    warehouse = PostgresWarehouse(PostgresTarget.from_env(cluster.env()))
    assert prepare_warehouse(warehouse, log=lambda _: None) == []  # a new warehouse: its version recorded
    conn = cluster.connect()
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            cursor.execute("CREATE SCHEMA reference; CREATE SCHEMA staging; "
                           "CREATE TABLE reference.dim_kpi_definitions (kpi_id varchar, kpi_name varchar); "
                           "CREATE VIEW staging.reads_the_seed AS SELECT kpi_id FROM reference.dim_kpi_definitions")
            manifest = json.loads(ensure_manifest().read_text())
            changes = rebuild_changed_relations(warehouse, manifest, DBT_PROJECT_DIR, log=lambda _: None)
            assert [change.split(" (")[0] for change in changes] == ["seed reference.dim_kpi_definitions reloaded whole"]
            cursor.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema IN ('reference', 'staging')")
            assert cursor.fetchone() == (0,)  # the seed and the view reading it: the build makes both again

            cursor.execute(f"INSERT INTO meta.{VERSIONS_TABLE} VALUES ('99.0.0', NULL, now(), '[]')")
            cursor.execute(f"SELECT count(*) FROM meta.{VERSIONS_TABLE}")
            recorded = cursor.fetchone()
            with pytest.raises(UpgradeRefused, match="written by kpi-warehouse 99.0.0.*nothing was written"):
                prepare_warehouse(warehouse, log=lambda _: None)
            cursor.execute(f"SELECT count(*) FROM meta.{VERSIONS_TABLE}")
            assert cursor.fetchone() == recorded
    finally:
        conn.close()


@pytest.mark.integration
def test_a_warehouse_of_a_newer_version_is_refused_by_the_cli_before_anything_is_written(built_warehouse, tmp_path):
    from tests.conftest import copy_of_built

    env = {**copy_of_built(built_warehouse, tmp_path), "DAGSTER_HOME": str(tmp_path / "dagster_home"),
           "KPI_LOG_DIR": str(tmp_path / "logs")}
    warehouse_file = tmp_path / "warehouse" / "kpi.duckdb"
    with duckdb.connect(str(warehouse_file)) as connection:
        connection.execute("CREATE SCHEMA IF NOT EXISTS meta")
        connection.execute(f"CREATE TABLE IF NOT EXISTS meta.{VERSIONS_TABLE} (version VARCHAR, previous_version VARCHAR, "
                           "recorded_at TIMESTAMP, changes VARCHAR)")
        connection.execute(f"INSERT INTO meta.{VERSIONS_TABLE} VALUES ('99.0.0', NULL, now(), '[]')")
        before = connection.execute("SELECT count(*), max(load_seq) FROM raw.load_ledger").fetchall()
    publication = (tmp_path / "serving" / "publication.json").read_text()

    result, _ = cli(REPO_ROOT, env, "run")
    assert result.returncode == 2
    assert f"written by kpi-warehouse 99.0.0, newer than this checkout's {project_version()}: nothing was written" in result.stderr
    assert "make run" in result.stderr
    with duckdb.connect(str(warehouse_file), read_only=True) as connection:
        assert connection.execute("SELECT count(*), max(load_seq) FROM raw.load_ledger").fetchall() == before
        assert connection.execute(f"SELECT version FROM meta.{VERSIONS_TABLE}").fetchall()[-1] == ("99.0.0",)
    assert (tmp_path / "serving" / "publication.json").read_text() == publication
