"""Yearly partitions, backfills in one run, change detection and revisions, on real runs."""

from __future__ import annotations

import shutil

import dagster as dg
import duckdb
import pytest

from orchestration.platform.schedules import transform_request_after
from orchestration.platform.source_assets import raw_assets_to_transform
from orchestration.sources import discover
from orchestration.fetch.archive import list_landings
from tests.conftest import SNAPSHOT_DIR, all_years, copy_of_built, run_job, warehouse_env

pytestmark = pytest.mark.integration

MARTS = ("kpi_annual", "kpi_scorecard", "fct_visa_issuances", "fct_border_encounters", "fct_border_encounters_monthly",
         "fct_labour_market", "fct_education", "fct_homicides", "fct_us_assistance", "kpi_revisions")


def table_rows(warehouse, schema: str) -> dict[str, list]:
    """Every table of ``schema`` (without load bookkeeping columns), sorted."""
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        tables = [t for (t,) in conn.execute(
            "select table_name from duckdb_tables() where schema_name = ? and table_name <> 'load_ledger' order by 1", [schema]
        ).fetchall()]
        rows = {}
        for table in tables:
            columns = [c for (c,) in conn.execute(
                "select column_name from duckdb_columns() where schema_name = ? and table_name = ? "
                "and column_name not in ('load_id', 'loaded_at') order by column_index", [schema, table]).fetchall()]
            select = ", ".join(f'"{c}"' for c in columns)
            rows[table] = conn.execute(f'select {select} from {schema}."{table}" order by all').fetchall()
    return rows


def materialized(result) -> set[str]:
    return {event.asset_key.to_user_string() for event in result.get_asset_materialization_events()}


def test_backfill_of_every_year_in_one_run_gives_the_rows_of_a_full_build(built_warehouse):
    root, env, _ = built_warehouse
    warehouse = root / "warehouse" / "kpi.duckdb"
    raw_before, marts_before = table_rows(warehouse, "raw"), table_rows(warehouse, "marts")
    instance = dg.DagsterInstance.ephemeral()
    result = run_job(env, 2000, 2024, instance=instance)
    assert result.success
    assert len(instance.get_runs()) == 1  # 25 years, one run
    assert result.dagster_run.tags["dagster/asset_partition_range_start"] == "2000"
    assert "raw/worldbank_indicator_values" in materialized(result)
    assert table_rows(warehouse, "raw") == raw_before
    assert table_rows(warehouse, "marts") == marts_before


def test_one_partition_twice_leaves_identical_rows(built_warehouse, tmp_path):
    # on a copy: a load that is not published leaves the shared warehouse with a pending load
    env = copy_of_built(built_warehouse, tmp_path)
    warehouse = tmp_path / "warehouse" / "kpi.duckdb"
    before = table_rows(warehouse, "raw")
    for _ in range(2):
        result = run_job(env, 2010, 2010, asset_selection=[dg.AssetKey(["raw", "state_dept_niv_issuances"]),
                                                           dg.AssetKey(["raw", "state_dept_iv_issuances"])])
        assert result.success
        assert result.dagster_run.tags["dagster/asset_partition_range_end"] == "2010"
        assert table_rows(warehouse, "raw") == before


def daily(env, first_year, last_year, instance):
    """What the schedule and its sensor do: a load run, then transform and publish if it changed something."""
    load = run_job(env, first_year, last_year, force=False, instance=instance, job="kpi_load")
    assert load.success, [str(event.message) for event in load.all_events if event.is_failure]
    request = transform_request_after(load.dagster_run, raw_assets_to_transform(load.all_events))
    transform = None
    if isinstance(request, dg.RunRequest):
        transform = run_job(env, first_year, last_year, instance=instance, job="kpi_transform_publish", tags=request.tags)
        assert transform.success, [str(event.message) for event in transform.all_events if event.is_failure]
    return load, request, transform


def test_an_unchanged_source_leaves_everything_downstream_unmaterialized(built_warehouse, tmp_path):
    # its own copy of the build: other tests' loads into the shared one would be pending publication
    env = copy_of_built(built_warehouse, tmp_path)
    instance = dg.DagsterInstance.ephemeral()
    load, request, transform = daily(env, 2024, 2026, instance)
    assert materialized(load) == set()  # no raw load
    assert isinstance(request, dg.SkipReason) and "changed nothing" in request.skip_message
    assert transform is None  # no dbt model rebuilt, no publication
    # no suite ran, and none is reported as passed: each is planned in the run, without a result
    assert load.get_asset_check_evaluations() == []
    from orchestration.platform.dagster_internals import AssetCheckExecutionRecordStatus

    raw = dg.AssetKey(["raw", "worldbank_indicator_values"])
    keys = [dg.AssetCheckKey(raw, "gx_worldbank_indicator_values"), dg.AssetCheckKey(raw, "gx_plausibility_check")]
    records = instance.event_log_storage.get_latest_asset_check_execution_by_key(keys)
    assert set(records) == set(keys)
    for key, record in records.items():
        assert record.run_id == load.run_id and record.status == AssetCheckExecutionRecordStatus.PLANNED, key


def test_the_sensor_follows_a_changing_load_with_one_transform_run(built_warehouse, tmp_path):
    env = copy_of_built(built_warehouse, tmp_path)  # the load is not published: not on the shared warehouse
    instance = dg.DagsterInstance.ephemeral()
    load = run_job(env, 2024, 2026, force=True, instance=instance, job="kpi_load")
    from orchestration.definitions import defs

    sensor = defs.get_repository_def().get_sensor_def("kpi_transform_after_load")
    context = dg.build_run_status_sensor_context(
        sensor_name=sensor.name, dagster_instance=instance, dagster_run=load.dagster_run,
        dagster_event=next(e for e in load.all_events if e.event_type == dg.DagsterEventType.RUN_SUCCESS),
    )
    request = sensor(context)
    assert isinstance(request, dg.RunRequest)
    assert request.tags["dagster/asset_partition_range_start"] == "2024"
    assert "raw/worldbank_indicator_values" in request.tags["kpi/changed_assets"]


def test_a_new_vintage_is_kept_beside_the_old_and_the_marts_show_it(tmp_path):
    """Load the 2022 WDI homicide vintage, then the 2026 one: both stay, kpi_annual shows 2026's."""
    snapshot = tmp_path / "snapshot"
    for source in (spec.name for spec in discover() if spec.name != "worldbank"):  # every other source, as bundled
        shutil.copytree(SNAPSHOT_DIR / source, snapshot / source)
    landings = {landing.fetch_id: landing.path for landing in list_landings(SNAPSHOT_DIR, "worldbank")}
    first = ["2022-07-20__wdi-bulk__API_VC.IHR.PSRC.P5_DS2_en_csv_v2_4355130",
             "2026-02-24__wdi-bulk__API_SL.TLF.TOTL.IN_DS2_en_csv_v2_761"]
    for fetch_id in first:
        shutil.copytree(landings[fetch_id], snapshot / "worldbank" / fetch_id)
    env = warehouse_env(tmp_path, KPI_SNAPSHOT_DIR=str(snapshot))
    assert run_job(env, *all_years()).success
    assert homicide_rate(tmp_path, 2011) == pytest.approx(83.77, abs=0.005)

    newer = "2026-04-08__wdi-bulk__API_HND_DS2_es_csv_v2_21843"
    shutil.copytree(landings[newer], snapshot / "worldbank" / newer)
    load, _, transform = daily(env, *all_years(), dg.DagsterInstance.ephemeral())  # only the changed source reloads
    assert materialized(load) == {"raw/worldbank_indicator_values"}
    assert "serving/kpi_marts" in materialized(transform)
    assert homicide_rate(tmp_path, 2011) == pytest.approx(83.18, abs=0.005)
    with duckdb.connect(str(tmp_path / "serving" / "kpi.duckdb"), read_only=True) as conn:
        history = conn.execute(
            "select vintage, value, is_latest_vintage from marts.kpi_revisions where country_iso3 = 'HND' "
            "and series_id = 'VC.IHR.PSRC.P5' and year = 2011 order by vintage").fetchall()
    assert [(v, latest) for v, _, latest in history] == [("2022-07-20", False), ("2026-04-08", True)]
    assert history[1][1] - history[0][1] == pytest.approx(83.18 - 83.77, abs=0.01)


def homicide_rate(root, year):
    with duckdb.connect(str(root / "serving" / "kpi.duckdb"), read_only=True) as conn:
        return conn.execute("select value from marts.kpi_annual where country_iso3 = 'HND' and kpi_id = 'homicide_rate' "
                            "and year = ?", [year]).fetchone()[0]
