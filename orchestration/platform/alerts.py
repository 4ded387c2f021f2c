"""Operations: a record (and optional webhook post) of every failed run."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import dagster as dg
import requests

from orchestration.core.errors import SettingsError
from orchestration.core.settings import PROJECT_ROOT, Settings
from orchestration.platform.resources import AlertingResource


def step_failure_messages(events) -> list[str]:
    """What each failed step said (a dg.Failure's description, else its error), not Dagster's generic
    "Execution of run ... failed" line: the failed suite, the refused audit, the lost lock."""
    messages = []
    for event in events:
        if not event.is_step_failure:
            continue
        data = event.step_failure_data
        error = data.error
        # Dagster wraps what the step raised in its own errors; the step's error is the first cause
        # that is not Dagster's (its own cause, e.g. a requests error under a SourceFetchError, is not)
        while error is not None and error.cause is not None and (error.cls_name or "").startswith("Dagster"):
            error = error.cause
        text = (data.user_failure_data.description if data.user_failure_data else None) or (error.message if error else None)
        text = (text or event.message or "failed").strip().removeprefix("dagster._core.definitions.events.Failure: ")
        messages.append(f"{event.step_key}: {text}")
    return messages


def failure_record(run_id: str, job_name: str, message: str, failed_steps: list[str], when: dt.datetime) -> dict:
    return {
        "kind": "run_failure",  # beside the surge alerts of orchestration/publish/surge_alerts.py in the same directory
        "run_id": run_id,
        "job": job_name,
        "failed_at": when.isoformat(timespec="seconds"),
        "failed_steps": failed_steps,
        "message": message,
        "how_to_see_it": f"dagster dev -w workspace.yaml, then Runs > {run_id}",
    }


def write_failure_record(record: dict, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{record['failed_at'][:19].replace(':', '')}-{record['run_id'][:8]}.json"
    path.write_text(json.dumps(record, indent=2))
    return path


def post_to_webhook(record: dict, url: str, timeout_seconds: float = 10) -> int:
    text = f"KPI warehouse run {record['run_id'][:8]} ({record['job']}) failed: {record['message'][:500]}"
    response = requests.post(url, json={"text": text, "kind": record.get("kind", "run_failure"), "record": record}, timeout=timeout_seconds)
    return response.status_code


def record_failure(settings: Settings | None, run_id: str, job_name: str, message: str, failed_steps: list[str],
                   log=print) -> Path:
    """Write the failure record and post it to the webhook when one is set; the sensor (runs of the
    daemon and the UI) and the CLI (make run/daily/backfill) both call this. ``settings`` is None
    when the settings themselves are wrong: the record then goes to the default directory."""
    record = failure_record(run_id, job_name, message, failed_steps, dt.datetime.now(dt.timezone.utc))
    path = write_failure_record(record, settings.failures_dir if settings else PROJECT_ROOT / "data" / "failures")
    log(f"failure record written to {path}")
    url = settings.alert_webhook_url if settings else None
    if url:
        try:
            status = post_to_webhook(record, url)
            log(f"alert webhook answered HTTP {status}")
        except requests.RequestException as exc:
            # the URL is a secret: report the failure's kind, never the URL
            log(f"alert webhook post failed: {type(exc).__name__}")
    return path


@dg.run_failure_sensor(default_status=dg.DefaultSensorStatus.RUNNING, description="Writes data/failures/<time>-<run>.json for every failed run and posts it to KPI_ALERT_WEBHOOK_URL when set.")
def kpi_run_failure_record(context: dg.RunFailureSensorContext, alerting: AlertingResource):
    from orchestration.platform.resources import settings_of

    step_failures = context.get_step_failure_events()
    failed_steps = [event.step_key for event in step_failures if event.step_key]
    try:
        settings = settings_of(alerting)  # where records go and the webhook: the alerting resource's
    except SettingsError:
        settings = None
    message = " | ".join(step_failure_messages(step_failures)) or context.failure_event.message or "run failed"
    record_failure(settings, context.dagster_run.run_id, context.dagster_run.job_name, message, failed_steps, log=context.log.info)
