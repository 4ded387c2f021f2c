"""The Dagster code location: every asset, check, job and resource of the KPI warehouse."""

from __future__ import annotations

import dagster as dg

from orchestration.assets.dbt import kpi_dbt_models
from orchestration.assets.publish import published_marts
from orchestration.assets.sources import RAW_GROUP
from orchestration.executor import warehouse_executor
from orchestration.loading import SOURCES, load_job, source_assets
from orchestration.operations import kpi_run_failure_record
from orchestration.progress import concise_progress_logger
from orchestration.schedules import build_daily_schedule, build_transform_after_load_sensor

__all__ = ["SOURCES", "defs"]

full_build_job = dg.define_asset_job(
    "kpi_full_build",
    selection=dg.AssetSelection.all(),
    description="Every source, the dbt build (models and tests) and publishing, in one run.",
)

transform_job = dg.define_asset_job(
    "kpi_transform_publish",
    selection=dg.AssetSelection.all() - dg.AssetSelection.groups(RAW_GROUP),
    description="dbt build (models and tests) and publishing, after a load that changed something.",
)

defs = dg.Definitions(
    assets=[*source_assets, kpi_dbt_models, published_marts],
    jobs=[full_build_job, load_job, transform_job],
    schedules=[build_daily_schedule(load_job)],
    sensors=[kpi_run_failure_record, build_transform_after_load_sensor(load_job, transform_job)],
    executor=warehouse_executor,
    loggers={"concise": concise_progress_logger},
)
