"""The daily schedule (a load run over the revision window) and the sensor that follows a load
that changed something with the transform-and-publish run."""

from __future__ import annotations

import datetime as dt

import dagster as dg

from orchestration.config import load_settings
from orchestration.platform.partitions import FORCE_TAG, YEARLY
from orchestration.platform.source_assets import raw_assets_to_transform
from orchestration.core.settings import Settings


def revision_window(today: dt.date, window_years: int | None = None) -> tuple[int, int]:
    """The years a daily run refreshes: the last ``window_years`` (publishers revise recent years,
    and a newly released year is the newest of them), clipped to the partitions. A release the
    warehouse has not loaded before is loaded whole whatever the window (orchestration.load.step)."""
    window = window_years or load_settings().revision_window_years
    keys = YEARLY.get_partition_keys(current_time=dt.datetime.combine(today, dt.time()))
    last = int(keys[-1])
    return max(int(keys[0]), last - window + 1), last


def daily_run_request(today: dt.date, window_years: int | None = None) -> dg.RunRequest:
    first, last = revision_window(today, window_years)
    return dg.RunRequest(
        run_key=f"daily-{today.isoformat()}",
        # one run over the range (every partitioned asset has a single-run backfill policy)
        tags={
            "dagster/asset_partition_range_start": str(first),
            "dagster/asset_partition_range_end": str(last),
            FORCE_TAG: "false",
            "kpi/trigger": "daily_schedule",
        },
    )


RANGE_TAGS = ("dagster/asset_partition_range_start", "dagster/asset_partition_range_end")


def transform_request_after(run: dg.DagsterRun, changed_assets: list[str]) -> dg.RunRequest | dg.SkipReason:
    """After a load run: a transform-and-publish run over the same years if a load changed something."""
    if not changed_assets:
        return dg.SkipReason(f"load run {run.run_id[:8]} changed nothing: no rebuild, no publication")
    return dg.RunRequest(
        run_key=f"transform-after-{run.run_id}",
        tags={**{tag: run.tags[tag] for tag in RANGE_TAGS if tag in run.tags},
              FORCE_TAG: run.tags.get(FORCE_TAG, "false"), "kpi/after_load_run": run.run_id,
              "kpi/changed_assets": ",".join(sorted(changed_assets))[:2000]},
    )


def build_transform_after_load_sensor(load_job, transform_job) -> dg.SensorDefinition:
    @dg.run_status_sensor(
        run_status=dg.DagsterRunStatus.SUCCESS,
        monitored_jobs=[load_job],
        request_job=transform_job,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Starts dbt and publishing after a successful load run that changed at least one raw table.",
    )
    def kpi_transform_after_load(context: dg.RunStatusSensorContext):
        events = [record.event_log_entry.dagster_event
                  for event_type in (dg.DagsterEventType.ASSET_MATERIALIZATION, dg.DagsterEventType.ASSET_OBSERVATION)
                  for record in context.instance.get_records_for_run(context.dagster_run.run_id, of_type=event_type).records]
        return transform_request_after(context.dagster_run, raw_assets_to_transform(events))

    return kpi_transform_after_load


def build_daily_schedule(job, settings: Settings | None = None) -> dg.ScheduleDefinition:
    settings = settings or load_settings()

    @dg.schedule(
        job=job,
        cron_schedule=settings.schedule_cron,
        execution_timezone=settings.schedule_timezone,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="Daily: refetch, validate and reload the revision window (unchanged sources are skipped), rebuild, publish.",
    )
    def kpi_daily(context: dg.ScheduleEvaluationContext):
        return daily_run_request(context.scheduled_execution_time.date())

    return kpi_daily
