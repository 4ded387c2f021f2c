from __future__ import annotations

import datetime as dt
import json

import dagster as dg

from orchestration.platform.alerts import (
    failure_record,
    kpi_run_failure_record,
    post_to_webhook,
    write_failure_record,
)

WHEN = dt.datetime(2026, 11, 27, 6, 1, 2, tzinfo=dt.timezone.utc)


def test_failure_record_is_written_with_what_failed(tmp_path):
    record = failure_record("abcdef12-3456", "kpi_full_build", "[worldbank] https://x: HTTP 503", ["load_worldbank"], WHEN)
    path = write_failure_record(record, tmp_path)
    assert path.name == "2026-11-27T060102-abcdef12.json"
    saved = json.loads(path.read_text())
    assert saved["failed_steps"] == ["load_worldbank"] and "HTTP 503" in saved["message"]


def test_webhook_receives_the_record(httpserver):
    httpserver.expect_request("/hooks/T0KEN", method="POST").respond_with_data("ok")
    record = failure_record("abcdef12", "kpi_full_build", "boom", [], WHEN)
    assert post_to_webhook(record, httpserver.url_for("/hooks/T0KEN")) == 200
    [(request, _)] = httpserver.log
    assert request.json["record"]["run_id"] == "abcdef12" and "failed: boom" in request.json["text"]


def test_failure_sensor_writes_a_record_for_a_failed_run(tmp_path):
    @dg.op
    def explode():
        raise RuntimeError("publisher sent garbage") from ConnectionResetError("the step's own cause, not its message")

    @dg.op
    def refuse():
        raise dg.Failure(description="[cbp] suite cbp_sbo_encounters_monthly failed: expect_column_values_to_not_be_null")

    @dg.job
    def failing_job():
        explode()
        refuse()

    instance = dg.DagsterInstance.ephemeral()
    result = failing_job.execute_in_process(instance=instance, raise_on_error=False)
    assert not result.success
    failure_event = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.RUN_FAILURE)
    context = dg.build_run_status_sensor_context(
        sensor_name="kpi_run_failure_record", dagster_instance=instance, dagster_run=result.dagster_run,
        dagster_event=failure_event,
    ).for_run_failure()
    from orchestration.platform.resources import AlertingResource

    kpi_run_failure_record(context, alerting=AlertingResource(failures_dir=str(tmp_path / "failures")))
    [path] = (tmp_path / "failures").iterdir()
    saved = json.loads(path.read_text())
    assert saved["run_id"] == result.run_id and sorted(saved["failed_steps"]) == ["explode", "refuse"]
    # each failed step's own words (promise 33), not Dagster's "Execution of run ... failed" line
    assert "explode: RuntimeError: publisher sent garbage" in saved["message"], saved["message"]
    assert "refuse: [cbp] suite cbp_sbo_encounters_monthly failed: expect_column_values_to_not_be_null" in saved["message"]
    assert "Execution of run" not in saved["message"]


def test_every_source_has_a_freshness_policy():
    from orchestration.definitions import SOURCES

    policies = {spec.name: spec.freshness_policy for spec in SOURCES}
    assert all(policies.values())
    assert policies["worldbank"].fail_window.to_timedelta() > policies["cbp"].fail_window.to_timedelta()
