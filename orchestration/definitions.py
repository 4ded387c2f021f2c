"""The Dagster code location: every asset, check, job and resource of the KPI warehouse."""

from __future__ import annotations

import dagster as dg

from orchestration.platform.contract_assets import source_contracts
from orchestration.platform.dbt_assets import kpi_dbt_models
from orchestration.platform.publish_assets import published_marts
from orchestration.platform.source_assets import RAW_GROUP
from orchestration.platform.executor import warehouse_executor
from orchestration.platform.jobs import SOURCES, load_job, source_assets
from orchestration.platform.alerts import kpi_run_failure_record
from orchestration.platform.progress_log import concise_progress_logger
from orchestration.platform.resources import build_resources
from orchestration.platform.schedules import build_daily_schedule, build_transform_after_load_sensor

__all__ = ["SOURCES", "build_definitions", "defs"]

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



def build_definitions(resources: dict | None = None) -> dg.Definitions:
    """The code location with ``resources`` (default: ``build_resources()``, the environment through
    ``dg.EnvVar``); the CLI passes the ones it built, tests ones with explicit values."""
    return dg.Definitions(
        assets=[*source_assets, source_contracts, kpi_dbt_models, published_marts],
        jobs=[full_build_job, load_job, transform_job],
        schedules=[build_daily_schedule(load_job)],
        sensors=[kpi_run_failure_record, build_transform_after_load_sensor(load_job, transform_job)],
        executor=warehouse_executor,
        loggers={"concise": concise_progress_logger},
        resources=build_resources() if resources is None else resources,
    )


defs = build_definitions()
