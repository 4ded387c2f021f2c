"""Versions and upgrades (orchestration/core/version.py, upgrade.py, instance_config.py) on real DuckDB files
and the real dbt manifest; the upgrades from real earlier commits are tests/integration/test_upgrades.py."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import subprocess
from pathlib import Path

import duckdb
import pytest

from orchestration.platform.instance_config import EARLIER_CONFIGS, REPOSITORY_CONFIG, install_instance_config
from orchestration.core.settings import DBT_PROJECT_DIR, PROJECT_ROOT
from orchestration.load.upgrade import (
    VERSIONS_TABLE, ChangedRelation, UpgradeRefused, changed_relations, check_writable, drop_relations_no_model_defines,
    expected_columns, prepare_warehouse, rebuild_changed_relations, refusal_for, undefined_relations, warehouse_version,
)
from orchestration.core.version import UNVERSIONED, project_version
from orchestration.load.warehouse import DuckDBWarehouse


@pytest.fixture(scope="module")
def manifest() -> dict:
    from orchestration.transform.manifest import ensure_manifest

    return json.loads(ensure_manifest().read_text())


# --- versions ------------------------------------------------------------------------------------


def test_the_version_is_one_everywhere_and_the_changelog_has_its_section():
    version = project_version()
    assert re.fullmatch(r"\d+\.\d+\.\d+", version)
    dbt_project = (DBT_PROJECT_DIR / "dbt_project.yml").read_text()
    assert re.search(rf'^version: "{re.escape(version)}"$', dbt_project, re.MULTILINE), "dbt_project.yml's version differs"
    changelog = (PROJECT_ROOT / "CHANGELOG.md").read_text()
    assert re.search(rf"^## \[{re.escape(version)}\] - \d{{4}}-\d{{2}}-\d{{2}}$", changelog, re.MULTILINE), \
        f"CHANGELOG.md has no section '## [{version}] - <date>'"


def test_a_newer_warehouse_is_refused_with_what_to_run():
    assert refusal_for(None, "0.2.0", "w") is None
    assert refusal_for("0.1.0", "0.2.0", "w") is None
    assert refusal_for("0.2.0", "0.2.0", "w") is None
    message = refusal_for("0.10.0", "0.9.0", "/data/kpi.duckdb")  # compared as versions, not as text
    assert "0.10.0" in message and "0.9.0" in message and "/data/kpi.duckdb" in message
    assert "nothing was written" in message and "make run" in message and "KPI_WAREHOUSE_PATH" in message


# --- seeds and models whose columns changed -------------------------------------------------------


def test_changed_relations_compare_a_seed_by_order_and_a_model_by_name():
    expected = {
        ("reference", "seed_same"): ("seed", ("a", "b")),
        ("reference", "seed_grown"): ("seed", ("a", "b", "c")),
        ("reference", "seed_reordered"): ("seed", ("a", "b")),
        ("reference", "seed_not_built"): ("seed", ("a",)),
        ("marts", "model_reordered"): ("model", ("a", "b")),
        ("marts", "model_shrunk"): ("model", ("a",)),
    }
    present = {
        ("reference", "seed_same"): ("a", "b"),
        ("reference", "seed_grown"): ("a", "b"),
        ("reference", "seed_reordered"): ("b", "a"),
        ("marts", "model_reordered"): ("b", "a"),
        ("marts", "model_shrunk"): ("a", "gone"),
    }
    changed = changed_relations(expected, present)
    assert [(c.schema, c.name) for c in changed] == [("marts", "model_shrunk"), ("reference", "seed_grown"),
                                                     ("reference", "seed_reordered")]
    assert changed[0].describe() == "model marts.model_shrunk rebuilt whole from raw (columns -gone)"
    assert changed[1].describe() == "seed reference.seed_grown reloaded whole (columns +c)"
    assert ChangedRelation("seed", "s", "t", ("a", "b"), ("b", "a")).describe().endswith("(columns reordered)")


def test_every_incremental_model_declares_its_columns_in_an_enforced_contract(manifest):
    """An upgrade knows an incremental model's columns from its contract: without one, a changed
    model would fail every build (on_schema_change: fail) instead of being rebuilt whole."""
    incremental = [node for node in manifest["nodes"].values()
                   if node["resource_type"] == "model" and node["config"].get("materialized") == "incremental"]
    assert incremental
    for node in incremental:
        assert node["config"]["contract"]["enforced"], f"{node['name']}: enforce its contract"
        assert node["columns"], f"{node['name']}: declare its columns"


def test_the_seeds_expected_columns_are_their_csv_headers(manifest):
    expected = expected_columns(manifest, DBT_PROJECT_DIR)
    kind, columns = expected[("reference", "dim_kpi_definitions")]
    header = (DBT_PROJECT_DIR / "seeds" / "dim_kpi_definitions.csv").read_text().splitlines()[0].split(",")
    assert (kind, list(columns)) == ("seed", header)


# --- the warehouse: version record, ledger migration, refusal (real DuckDB files) -----------------

OLD_LEDGER = ("CREATE TABLE raw.load_ledger (source VARCHAR, fingerprint VARCHAR, first_year INTEGER, last_year INTEGER, "
              "load_id VARCHAR, loaded_at TIMESTAMP)")


def _sql(path: Path, *statements: str) -> list:
    with duckdb.connect(str(path)) as connection:
        rows = []
        for statement in statements:
            rows = connection.execute(statement).fetchall()
        return rows


def test_a_new_warehouse_records_this_version_once(tmp_path):
    warehouse = DuckDBWarehouse(tmp_path / "kpi.duckdb")
    assert warehouse_version(warehouse) is None
    assert prepare_warehouse(warehouse, log=lambda _: None) == []
    assert prepare_warehouse(warehouse, log=lambda _: None) == []
    assert _sql(warehouse.path, f"SELECT version, previous_version, changes FROM meta.{VERSIONS_TABLE}") == [
        (project_version(), None, '["created"]')]
    assert warehouse_version(warehouse) == project_version()


def test_a_ledger_from_before_releases_migrates_in_place_once_and_is_recorded(tmp_path):
    warehouse = DuckDBWarehouse(tmp_path / "kpi.duckdb")
    _sql(warehouse.path, "CREATE SCHEMA raw", OLD_LEDGER,
         "INSERT INTO raw.load_ledger VALUES ('cbp', 'f2', 2000, 2026, 'b', TIMESTAMP '2026-11-28 02:00:00'), "
         "('cbp', 'f1', 2000, 2026, 'a', TIMESTAMP '2026-11-28 01:00:00')")
    assert warehouse_version(warehouse) == UNVERSIONED
    logged = []
    changes = prepare_warehouse(warehouse, log=logged.append)
    assert changes == [f"raw.load_ledger: column {name} added" for name in ("load_seq", "releases", "whole_release", "run_id")]
    assert logged == [f"warehouse upgraded from {UNVERSIONED} to {project_version()}: " + "; ".join(changes)]
    assert _sql(warehouse.path, "SELECT load_id, load_seq FROM raw.load_ledger ORDER BY load_seq") == [("a", 1), ("b", 2)]
    assert prepare_warehouse(warehouse, log=logged.append) == []  # idempotent: done and recorded once
    assert _sql(warehouse.path, f"SELECT version, previous_version, changes FROM meta.{VERSIONS_TABLE}") == [
        (project_version(), UNVERSIONED, json.dumps(changes))]


def test_a_warehouse_of_a_newer_version_is_refused_before_anything_is_written(tmp_path):
    warehouse = DuckDBWarehouse(tmp_path / "kpi.duckdb")
    _sql(warehouse.path, "CREATE SCHEMA raw", OLD_LEDGER, "CREATE SCHEMA meta",
         f"CREATE TABLE meta.{VERSIONS_TABLE} (version VARCHAR, previous_version VARCHAR, recorded_at TIMESTAMP, changes VARCHAR)",
         f"INSERT INTO meta.{VERSIONS_TABLE} VALUES ('99.0.0', NULL, now(), '[]')")
    with pytest.raises(UpgradeRefused, match="written by kpi-warehouse 99.0.0, newer than"):
        check_writable(warehouse)
    with pytest.raises(UpgradeRefused, match="nothing was written"):
        prepare_warehouse(warehouse, log=lambda _: None)
    # the old ledger was not migrated, and no version was recorded
    assert [row[0] for row in _sql(warehouse.path, "DESCRIBE raw.load_ledger")] == [
        "source", "fingerprint", "first_year", "last_year", "load_id", "loaded_at"]
    assert _sql(warehouse.path, f"SELECT count(*) FROM meta.{VERSIONS_TABLE}") == [(1,)]


def test_a_seed_whose_columns_changed_is_dropped_for_a_whole_reload_and_recorded(tmp_path, manifest):
    warehouse = DuckDBWarehouse(tmp_path / "kpi.duckdb")
    prepare_warehouse(warehouse, log=lambda _: None)
    homicides = ", ".join(f'"{column}" VARCHAR' for column in manifest["nodes"]["model.kpi_warehouse.fct_homicides"]["columns"])
    _sql(warehouse.path, "CREATE SCHEMA reference", "CREATE TABLE reference.dim_kpi_definitions (kpi_id VARCHAR, kpi_name VARCHAR)",
         "CREATE SCHEMA marts", f"CREATE TABLE marts.fct_homicides ({homicides})")
    changes = rebuild_changed_relations(warehouse, manifest, DBT_PROJECT_DIR, log=lambda _: None)
    assert len(changes) == 1 and changes[0].startswith("seed reference.dim_kpi_definitions reloaded whole (columns +programme")
    tables = {row[0] for row in _sql(warehouse.path, "SELECT table_schema || '.' || table_name FROM information_schema.tables")}
    assert "reference.dim_kpi_definitions" not in tables and "marts.fct_homicides" in tables  # unchanged: kept
    assert rebuild_changed_relations(warehouse, manifest, DBT_PROJECT_DIR, log=lambda _: None) == []
    assert _sql(warehouse.path, f"SELECT changes FROM meta.{VERSIONS_TABLE} ORDER BY recorded_at")[-1] == (json.dumps(changes),)


def test_relations_no_model_defines_are_only_those_of_dbts_schemas_views_first():
    defined = {("marts", "fct_homicides"), ("reference", "dim_country")}
    present = [("marts", "fct_homicides", "BASE TABLE"), ("marts", "legacy_fct_old", "BASE TABLE"),
               ("marts", "legacy_view", "VIEW"), ("raw", "cbp_rows", "BASE TABLE"), ("reference", "dim_country", "BASE TABLE")]
    assert undefined_relations(defined, present) == [("marts", "legacy_view", "VIEW"), ("marts", "legacy_fct_old", "BASE TABLE")]


def test_a_table_or_view_whose_model_was_removed_is_dropped_and_recorded_the_rest_kept(tmp_path, manifest):
    warehouse = DuckDBWarehouse(tmp_path / "kpi.duckdb")
    prepare_warehouse(warehouse, log=lambda _: None)
    # what a 0.3.x build leaves that 0.4.0's project no longer has: a legacy table and a view over it,
    # beside a model the project still defines, a raw table and a test-failures table
    _sql(warehouse.path, "CREATE SCHEMA marts", "CREATE TABLE marts.fct_homicides (country_iso3 VARCHAR)",
         "CREATE TABLE marts.legacy_fct_asylum_usa AS SELECT 1 AS year", "CREATE SCHEMA intermediate",
         "CREATE VIEW intermediate.int_removed AS SELECT * FROM marts.legacy_fct_asylum_usa",
         "CREATE SCHEMA raw", "CREATE TABLE raw.cbp_rows (year INTEGER)",
         "CREATE SCHEMA dbt_test__audit", "CREATE TABLE dbt_test__audit.failures (year INTEGER)")
    logged = []
    changes = drop_relations_no_model_defines(warehouse, manifest, log=logged.append)
    assert changes == ["view intermediate.int_removed dropped (no model defines it any more)",
                       "table marts.legacy_fct_asylum_usa dropped (no model defines it any more)"]
    assert logged == [f"upgrade: {change}" for change in changes]
    tables = {row[0] for row in _sql(warehouse.path, "SELECT table_schema || '.' || table_name FROM information_schema.tables")}
    assert {"marts.fct_homicides", "raw.cbp_rows", "dbt_test__audit.failures"} <= tables
    assert not {"marts.legacy_fct_asylum_usa", "intermediate.int_removed"} & tables
    assert _sql(warehouse.path, f"SELECT changes FROM meta.{VERSIONS_TABLE} ORDER BY recorded_at")[-1] == (json.dumps(changes),)
    assert drop_relations_no_model_defines(warehouse, manifest, log=logged.append) == []  # nothing left: nothing recorded


# --- DAGSTER_HOME's dagster.yaml ------------------------------------------------------------------


def test_dagster_home_gets_the_repositorys_config_unless_it_has_its_own(tmp_path):
    fresh = tmp_path / "fresh"
    assert "installed" in install_instance_config(fresh)
    assert (fresh / "dagster.yaml").read_bytes() == REPOSITORY_CONFIG.read_bytes()
    assert install_instance_config(fresh) is None

    earlier = tmp_path / "earlier"
    earlier.mkdir()
    old = subprocess.run(["git", "show", "bea4331:dagster.yaml"], cwd=PROJECT_ROOT, capture_output=True, check=True).stdout
    (earlier / "dagster.yaml").write_bytes(old)
    assert "replaced" in install_instance_config(earlier)
    assert (earlier / "dagster.yaml").read_bytes() == REPOSITORY_CONFIG.read_bytes()
    assert (earlier / f"dagster.yaml.before-{project_version()}").read_bytes() == old

    own = tmp_path / "own"
    own.mkdir()
    (own / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    assert install_instance_config(own) is None
    assert (own / "dagster.yaml").read_text() == "telemetry:\n  enabled: false\n"


def test_every_earlier_version_of_dagster_yaml_is_known():
    """Changing dagster.yaml without adding the replaced version to EARLIER_CONFIGS would leave
    every existing installation on the old file."""
    commits = subprocess.run(["git", "log", "--format=%H", "--", "dagster.yaml"], cwd=PROJECT_ROOT, capture_output=True,
                             text=True, check=True).stdout.split()
    assert commits, "no history of dagster.yaml: a shallow clone? (git fetch --unshallow)"
    current = hashlib.sha256(REPOSITORY_CONFIG.read_bytes()).hexdigest()
    for commit in commits:
        shown = subprocess.run(["git", "show", f"{commit}:dagster.yaml"], cwd=PROJECT_ROOT, capture_output=True, check=True).stdout
        digest = hashlib.sha256(shown).hexdigest()
        assert digest in EARLIER_CONFIGS or digest == current, f"dagster.yaml of {commit[:7]} ({digest}) not in EARLIER_CONFIGS"


# --- raw tables: declared schemas, migrated in one place -----------------------------------------


def test_every_raw_dataset_of_every_source_declares_its_columns_types():
    from orchestration.load.raw_schema import declared_raw_schemas
    from orchestration.sources import discover

    declared = declared_raw_schemas()
    for spec in discover():
        for dataset in spec.datasets:
            assert dataset.name in declared, f"raw.{dataset.name} ({spec.name}) has no declared schema in its sources YAML"
            assert ("load_id", "varchar") in declared[dataset.name] and ("loaded_at", "timestamp") in declared[dataset.name]


def _worldbank_frame(**overrides) -> "pd.DataFrame":
    import pandas as pd

    row = {"country_iso3": "HND", "indicator_id": "VC.IHR.PSRC.P5", "year": 2020, "value": 37.6, "vintage": dt.date(2025, 7, 1),
           "source_url": None, "fetch_id": "f1"}
    row.update(overrides)
    return pd.DataFrame([row])


def test_a_raw_table_is_created_as_declared_not_as_its_first_frame(tmp_path):
    """The first frame's source_url is empty (pandas: object of None): the column is still VARCHAR."""
    from orchestration.load.raw_schema import declared_columns
    from orchestration.load.warehouse import RawLoad, load_source

    path = tmp_path / "kpi.duckdb"
    load_source(path, "worldbank", [RawLoad("worldbank_indicator_values", _worldbank_frame(),
                                            ("country_iso3", "indicator_id", "vintage"), "year")], (2020, 2020), "l1", "fp")
    assert [(name, kind.lower()) for name, kind, *_ in _sql(path, "DESCRIBE raw.worldbank_indicator_values")] == \
        list(declared_columns("worldbank_indicator_values"))
    with pytest.raises(ValueError, match=r"column\(s\) \['surprise'\] that its dbt sources YAML does not declare"):
        load_source(path, "worldbank", [RawLoad("worldbank_indicator_values", _worldbank_frame(surprise=1),
                                                ("country_iso3", "indicator_id", "vintage"), "year")], (2020, 2020), "l2", "fp")


def test_raw_tables_of_an_older_warehouse_migrate_to_their_declared_schema_in_one_transaction(tmp_path):
    warehouse = DuckDBWarehouse(tmp_path / "kpi.duckdb")
    # as a first frame used to make it: value typed by its first rows (text), no fetch_id yet
    _sql(warehouse.path, "CREATE SCHEMA raw", OLD_LEDGER,
         "CREATE TABLE raw.worldbank_indicator_values (country_iso3 VARCHAR, indicator_id VARCHAR, year BIGINT, value VARCHAR, "
         "vintage VARCHAR, source_url VARCHAR, load_id VARCHAR, loaded_at TIMESTAMP)",
         "INSERT INTO raw.worldbank_indicator_values VALUES ('HND', 'X', 2020, '37.6', '2025-07-01', NULL, 'a', now())")
    changes = prepare_warehouse(warehouse, log=lambda _: None)
    assert "raw.worldbank_indicator_values: column value VARCHAR -> DOUBLE" in changes
    assert "raw.worldbank_indicator_values: column fetch_id VARCHAR added" in changes
    assert _sql(warehouse.path, "SELECT value, fetch_id FROM raw.worldbank_indicator_values") == [(37.6, None)]
    assert prepare_warehouse(warehouse, log=lambda _: None) == []


def test_a_raw_value_that_does_not_convert_stops_the_upgrade_before_anything_is_written(tmp_path):
    warehouse = DuckDBWarehouse(tmp_path / "kpi.duckdb")
    _sql(warehouse.path, "CREATE SCHEMA raw", OLD_LEDGER,
         "CREATE TABLE raw.worldbank_indicator_values (country_iso3 VARCHAR, indicator_id VARCHAR, year BIGINT, value VARCHAR, "
         "vintage VARCHAR, source_url VARCHAR, fetch_id VARCHAR, load_id VARCHAR, loaded_at TIMESTAMP)",
         "INSERT INTO raw.worldbank_indicator_values VALUES ('HND', 'X', 2020, 'n/a', '2025-07-01', NULL, 'f', 'a', now())")
    with pytest.raises(UpgradeRefused, match=r"raw.worldbank_indicator_values.value holds values that do not convert .*"
                                             r"nothing was written.*DROP TABLE raw.worldbank_indicator_values"):
        prepare_warehouse(warehouse, log=lambda _: None)
    # nothing written: the ledger keeps its old columns, the value its type, no version recorded
    assert len(_sql(warehouse.path, "DESCRIBE raw.load_ledger")) == 6
    assert _sql(warehouse.path, "SELECT value FROM raw.worldbank_indicator_values") == [("n/a",)]
    assert warehouse_version(warehouse) == UNVERSIONED


# --- after an upgrade, the daily run publishes with this version's models ------------------------


def test_after_an_upgrade_the_daily_run_rebuilds_what_is_loaded_though_no_release_is_new(tmp_path):
    from orchestration.load.step import PENDING, SKIP, plan_load
    from orchestration.load.warehouse import LoadRecord
    from orchestration.publish.publication import outdated_publication

    serving = tmp_path / "serving"
    serving.mkdir()
    assert outdated_publication(serving) is None  # never published: the first run builds everything anyway
    (serving / "publication.json").write_text(json.dumps({"publication_id": "p"}))  # made before versions
    reason = outdated_publication(serving)
    assert reason == f"the live publication was made by a version before 0.2.0, this is {project_version()}"
    (serving / "publication.json").write_text(json.dumps({"publication_id": "p", "version": project_version()}))
    assert outdated_publication(serving) is None

    loaded = [LoadRecord("worldbank", "load-1", 1, 2000, 2026, True, ("sha:HND",))]
    releases = {"sha:HND": "f1"}
    assert plan_load(loaded, releases, (2024, 2026), (1999, 2026), False, 1).action == SKIP
    plan = plan_load(loaded, releases, (2024, 2026), (1999, 2026), False, 1, outdated_publication=reason)
    assert (plan.action, plan.years) == (PENDING, (2024, 2026))
    assert reason in plan.reason
    assert plan_load([], {}, (2024, 2026), (1999, 2026), False, 0, outdated_publication=reason).action == SKIP  # nothing loaded


def test_rows_loaded_before_a_new_raw_column_are_re_read_from_their_landings(tmp_path):
    """A raw table that gains a column its old rows have no value for (kpi_lineage's place of each
    value in its file): its source forgets which releases it loaded, so its next load re-reads them
    whole; a source whose tables did not change keeps its releases."""
    from orchestration.load.warehouse import _LEDGER_COLUMNS

    warehouse = DuckDBWarehouse(tmp_path / "kpi.duckdb")
    ledger_columns = ", ".join(f"{name} {kind}" for name, kind in _LEDGER_COLUMNS)
    _sql(warehouse.path, "CREATE SCHEMA raw", f"CREATE TABLE raw.load_ledger ({ledger_columns})",
         "INSERT INTO raw.load_ledger (source, load_id, load_seq, releases, whole_release) VALUES "
         "('unodc', 'a', 1, '[\"annex\"]', true), ('state_dept', 'b', 2, '[\"niv\"]', true)",
         "CREATE TABLE raw.unodc_drug_seizures (vintage VARCHAR)", "INSERT INTO raw.unodc_drug_seizures VALUES ('2018-2022')")
    changes = prepare_warehouse(warehouse, log=lambda _: None)
    assert "raw.unodc_drug_seizures: column source_location VARCHAR added" in changes
    assert changes[-1] == "unodc: its releases are re-read from the landings on its next load (new raw columns)"
    assert _sql(warehouse.path, "SELECT source, releases FROM raw.load_ledger ORDER BY load_seq") == [
        ("unodc", "[]"), ("state_dept", '["niv"]')]
