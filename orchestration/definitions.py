"""The Dagster code location: every asset, check, job and resource of the KPI warehouse."""

from __future__ import annotations

import dagster as dg

from orchestration.assets.dbt import dbt_resource, kpi_dbt_models
from orchestration.assets.publish import published_marts
from orchestration.assets.sources import build_source_asset
from orchestration.progress import concise_progress_logger
from orchestration.sources import cbp, foreign_assistance, state_dept, worldbank

SOURCES = (worldbank.SPEC, state_dept.SPEC, cbp.SPEC, foreign_assistance.SPEC)

source_assets = [build_source_asset(spec) for spec in SOURCES]

full_build_job = dg.define_asset_job(
    "kpi_full_build",
    selection=dg.AssetSelection.all(),
    description="Every source, the dbt build (models and tests) and publishing.",
)

defs = dg.Definitions(
    assets=[*source_assets, kpi_dbt_models, published_marts],
    jobs=[full_build_job],
    resources={"dbt": dbt_resource()},
    executor=dg.in_process_executor,
    loggers={"concise": concise_progress_logger},
)
