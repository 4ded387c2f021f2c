"""The paths users reach the marts by, through real Dagster runs with dbt: the daily schedule
with a new release, a daily run that died after loading, a year that disappears from a release,
the publication audit, and runs that fail leaving a record."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration.platform.alerts import step_failure_messages
from orchestration.publish.publication import ACCEPT_SHRINK_TAG, REJECTED_DIR, current_publication
from tests.conftest import all_years, copy_of_built, run_job
from tests.engine import published_marts
from tests.integration.test_partitions import daily, materialized
from tests.releases import HOMICIDES_2024, new_homicide_release, newest_homicide_values, worldbank_release

pytestmark = pytest.mark.integration
WINDOW = (2024, 2026)


def query(serving: Path, sql: str, parameters=()) -> list[tuple]:
    with duckdb.connect(str(serving / "kpi.duckdb"), read_only=True) as conn:
        return conn.execute(sql, list(parameters)).fetchall()


def homicide_series(serving: Path) -> dict[str, list[int]]:
    return dict(query(serving, "select country_iso3, list(year order by year) from marts.kpi_annual "
                               "where kpi_id = 'homicide_rate' group by 1"))


def test_a_new_release_through_the_daily_schedule_keeps_every_year(built_warehouse, tmp_path):
    """The regression the issue reported: a new homicide release, then the daily run over its
    three-year window, used to publish ONE year of homicide rates per country."""
    env = copy_of_built(built_warehouse, tmp_path)
    serving = tmp_path / "serving"
    before_series = homicide_series(serving)
    before_rows = query(serving, "select count(*) from marts.kpi_annual")[0][0]
    new_homicide_release(tmp_path / "snapshot")

    instance = dg.DagsterInstance.ephemeral()
    load, request, transform = daily(env, *WINDOW, instance)
    assert materialized(load) == {"raw/worldbank_indicator_values"}
    metadata = next(e for e in load.get_asset_materialization_events()).materialization.metadata
    assert metadata["whole_release"].value is True and metadata["years"].value == "1999-2026"  # with the input year
    assert isinstance(request, dg.RunRequest) and "serving/kpi_marts" in materialized(transform)

    after_series = homicide_series(serving)
    for country, years in before_series.items():
        assert set(years) | {2023, 2024} <= set(after_series[country]), country
    assert query(serving, "select count(*) from marts.kpi_annual")[0][0] > before_rows
    vintages = query(serving, "select distinct source_vintage from marts.fct_homicides")
    assert vintages == [("2026-06-30",)] or [str(v) for (v,) in vintages] == ["2026-06-30"]
    hnd_2011 = newest_homicide_values()[("HND", 2011)]  # the release revised it by -1 %
    assert query(serving, "select value from marts.kpi_annual where country_iso3 = 'HND' and kpi_id = 'homicide_rate' "
                          "and year = 2011") == [(round(hnd_2011 * 0.99, 6),)]
    # the next day sees the same bytes: nothing to do, and nothing is left behind
    again, request, _ = daily(env, *WINDOW, instance)
    assert materialized(again) == set() and isinstance(request, dg.SkipReason)


def test_a_daily_run_that_died_after_loading_is_completed_by_the_next(built_warehouse, tmp_path):
    env = copy_of_built(built_warehouse, tmp_path)
    serving = tmp_path / "serving"
    published_before = current_publication(serving)["publication_id"]
    new_homicide_release(tmp_path / "snapshot")
    instance = dg.DagsterInstance.ephemeral()
    # the schedule's load run loads the new release; the process dies before the transform run
    load = run_job(env, *WINDOW, force=False, instance=instance, job="kpi_load")
    assert load.success and materialized(load) == {"raw/worldbank_indicator_values"}
    assert current_publication(serving)["publication_id"] == published_before

    # the next day: no new bytes, but the load is not in the publication, so it is completed
    load, request, transform = daily(env, *WINDOW, instance)
    # that load run loaded nothing: no materialization, no check result; an observation says why
    records = lambda event_type: instance.get_records_for_run(load.run_id, of_type=event_type).records  # noqa: E731
    assert records(dg.DagsterEventType.ASSET_MATERIALIZATION) == []
    assert records(dg.DagsterEventType.ASSET_CHECK_EVALUATION) == []
    [observed] = [r.event_log_entry.dagster_event for r in records(dg.DagsterEventType.ASSET_OBSERVATION)
                  if r.event_log_entry.dagster_event.asset_key.to_user_string() == "raw/worldbank_indicator_values"]
    metadata = observed.event_specific_data.asset_observation.metadata
    assert metadata["reloaded"].value is False and metadata["awaits_publication"].value is True
    assert "not yet in the live publication" in metadata["reason"].value
    # the schedule's sensor follows the observation with the transform, as the CLI's daily does
    from orchestration.definitions import defs

    sensor = defs.get_repository_def().get_sensor_def("kpi_transform_after_load")
    sensed = sensor(dg.build_run_status_sensor_context(
        sensor_name=sensor.name, dagster_instance=instance, dagster_run=load.dagster_run,
        dagster_event=next(e for e in load.all_events if e.event_type == dg.DagsterEventType.RUN_SUCCESS)))
    assert isinstance(sensed, dg.RunRequest) and sensed.tags["kpi/changed_assets"] == "raw/worldbank_indicator_values"
    assert transform is not None and transform.success
    assert current_publication(serving)["publication_id"] != published_before
    assert {2023, 2024} <= set(homicide_series(serving)["HND"])


def test_a_year_a_release_no_longer_has_leaves_the_facts_and_the_audit_asks_first(built_warehouse, tmp_path):
    """A newer release without 2005: the incremental facts delete every year of their range (dbt's
    delete+insert kept a year missing from the batch), and the audit refuses to publish the loss
    until the run says it is deliberate; the refused candidate stays inspectable."""
    env = copy_of_built(built_warehouse, tmp_path)
    serving = tmp_path / "serving"
    live = current_publication(serving)["publication_id"]
    new_homicide_release(tmp_path / "snapshot", "2026-07-15__synthetic__no-2005", "2026-07-15", drop_years=(2005,))
    instance = dg.DagsterInstance.ephemeral()
    load = run_job(env, *WINDOW, force=False, instance=instance, job="kpi_load")
    assert load.success
    refused = run_job(env, *WINDOW, instance=instance, job="kpi_transform_publish",
                      tags={"dagster/asset_partition_range_start": "2024", "dagster/asset_partition_range_end": "2026"})
    assert not refused.success
    message = " ".join(step_failure_messages(refused.all_events))
    assert "publication audit failed" in message and "HND homicide_rate: lost 2005 (1 year(s))" in message
    assert "--accept-shrink" in message and f"{ACCEPT_SHRINK_TAG}=true" in message
    assert current_publication(serving)["publication_id"] == live  # untouched
    [candidate] = list((serving / REJECTED_DIR).iterdir())
    audit = json.loads((candidate / "audit.json").read_text())
    assert {"kind": "series_lost_years", "subject": "GTM homicide_rate", "detail": "lost 2005 (1 year(s))"} in audit["findings"]
    with duckdb.connect(str(candidate / "kpi.duckdb"), read_only=True) as conn:
        assert conn.execute("select count(*) from marts.fct_homicides where year = 2005").fetchone()[0] == 0

    accepted = run_job(env, *WINDOW, instance=instance, job="kpi_transform_publish",
                       tags={"dagster/asset_partition_range_start": "2024", "dagster/asset_partition_range_end": "2026",
                             ACCEPT_SHRINK_TAG: "true"})
    assert accepted.success
    record = current_publication(serving)
    assert record["publication_id"] != live and record["audit"]["accepted"] is True
    assert query(serving, "select count(*) from marts.fct_homicides where year = 2005") == [(0,)]
    assert query(serving, "select count(*) from marts.kpi_annual where kpi_id = 'homicide_rate' and year = 2005") == [(0,)]


def test_a_failed_cli_run_leaves_a_record_and_posts_it(built_warehouse, tmp_path, httpserver, monkeypatch, capsys):
    """make run/daily/backfill failures are recorded like the daemon's (data/failures, webhook)."""
    from orchestration import cli

    env = copy_of_built(built_warehouse, tmp_path)
    worldbank_release(tmp_path / "snapshot", "2026-08-01__synthetic__negative", HOMICIDES_2024, "2026-08-01",
                      lambda iso3, year, value: -5.0 if (iso3, year) == ("HND", 2011) else value)
    httpserver.expect_request("/hooks/T0KEN", method="POST").respond_with_data("ok")
    for name, value in {**env, "KPI_ALERT_WEBHOOK_URL": httpserver.url_for("/hooks/T0KEN"),
                        "KPI_LOG_DIR": str(tmp_path / "logs"), "DAGSTER_HOME": str(tmp_path / "dagster_home")}.items():
        monkeypatch.setenv(name, value)
    assert cli.main(["daily"]) == 1
    [record_file] = list((tmp_path / "failures").glob("*.json"))
    record = json.loads(record_file.read_text())
    assert record["job"] == "kpi_load" and "load_worldbank" in record["failed_steps"]
    assert "worldbank_indicator_values" in record["message"] and "expect_column_values_to_be_between" in record["message"]
    [posted] = [request for request, _ in httpserver.log]
    assert json.loads(posted.data)["record"]["run_id"] == record["run_id"]
    out = capsys.readouterr().out
    assert "FAILED" in out and str(record_file) in out and "T0KEN" not in out


def test_a_changed_source_day_rebuilds_only_what_it_feeds_and_publishes_what_a_full_build_does(built_warehouse, tmp_path):
    """A new World Bank release: the daily transform rebuilds the World Bank models and the marts
    over every source, runs every test of a rebuilt model (each fact's agreement with kpi_annual
    included), leaves the other sources' models and their own tests alone (planned, not run: Dagster
    shows them skipped, the validation page too), and publishes the marts a full build publishes."""
    from orchestration.platform.dagster_internals import AssetCheckExecutionRecordStatus

    from orchestration.definitions import defs

    env = copy_of_built(built_warehouse, tmp_path)
    serving = tmp_path / "serving"
    new_homicide_release(tmp_path / "snapshot")
    instance = dg.DagsterInstance.ephemeral()
    _, _, transform = daily(env, *WINDOW, instance)
    rebuilt = materialized(transform)
    assert {"marts/fct_homicides", "marts/fct_labour_market", "marts/kpi_annual", "marts/kpi_scorecard",
            "staging/stg_worldbank__indicator_values", "serving/kpi_marts"} <= rebuilt
    assert not {"marts/fct_visa_issuances", "marts/fct_border_encounters", "staging/stg_cbp__sbo_monthly_encounters",
                "marts/fct_us_assistance"} & rebuilt

    evaluated = {(e.asset_key.to_user_string(), e.check_name) for e in transform.get_asset_check_evaluations()}
    checks_of = lambda asset: {name for key, name in evaluated if key == asset}  # noqa: E731
    # kpi_annual was rebuilt: every fact's agreement with it runs, the unrebuilt facts' too
    assert any(name.startswith("agrees_with_kpi_annual_fct_visa_issuances") for name in checks_of("marts/fct_visa_issuances"))
    assert any(name.startswith("agrees_with_kpi_annual_fct_homicides") for name in checks_of("marts/fct_homicides"))
    assert any(name.startswith("sums_to_kpi_annual_fct_visa_issuances") for name in checks_of("marts/fct_visa_issuances"))
    # a test of the State Department's models alone did not run: planned in the run, without a result
    # (agrees_with_kpi_annual and sums_to_kpi_annual read kpi_annual too, so they run)
    visa_only = [key for key in defs.resolve_asset_graph().asset_check_keys
                 if key.asset_key.to_user_string() == "marts/fct_visa_issuances"
                 and not key.name.startswith(("agrees_with", "sums_to_kpi_annual"))]
    assert visa_only
    records = instance.event_log_storage.get_latest_asset_check_execution_by_key(visa_only)
    for key in visa_only:
        assert (key.asset_key.to_user_string(), key.name) not in evaluated
        assert records[key].run_id == transform.run_id and records[key].status == AssetCheckExecutionRecordStatus.PLANNED
    page = (serving / "docs" / "validation.html").read_text()
    assert "skipped (not rerun: their models were not rebuilt" in page
    assert f"<td>{visa_only[0].name}</td><td>skipped</td>" in page

    daily_marts = published_marts(serving)
    full = run_job(env, *all_years(), instance=instance)
    assert full.success
    assert "marts/fct_visa_issuances" in materialized(full)  # every source reloaded: everything rebuilt
    assert published_marts(serving) == daily_marts
