"""The dbt project as Dagster assets; dbt tests become (blocking) asset checks.

Two @dbt_assets: the incremental models (tag ``incremental``: the per-year facts) are partitioned
by year and rebuild only the run's years (vars min_year/max_year), a backfill of any range in one
run; every other model is rebuilt whole (they are views or small tables over all years).
``dbt build`` runs models and their tests in DAG order and skips a model's dependants when one of
its tests fails, and a failed build fails the step, so publishing (downstream) never runs on a
build with a failed test. dbt runs in-process (``orchestration.dbt_runner``), once parsed per process.
"""

import json
import os
from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, dbt_assets

from orchestration.assets.sources import RAW_PREFIX, WAREHOUSE_POOL
from orchestration.dbt_manifest import ensure_manifest
from orchestration.dbt_runner import build
from orchestration.partitions import YEARLY, year_range
from orchestration.settings import Settings

INCREMENTAL_SELECTOR = "tag:incremental"


class KpiDbtTranslator(DagsterDbtTranslator):
    """Maps dbt sources onto the loading assets' keys (raw/<table>); models keep dbt's defaults."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return dg.AssetKey([RAW_PREFIX, dbt_resource_props["name"]])
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        parts = dbt_resource_props.get("fqn", [])
        return parts[1] if len(parts) > 2 and parts[1] in ("staging", "intermediate", "marts") else "reference"


TRANSLATOR = KpiDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


def dbt_build_args(years: tuple[int, int] | None = None) -> list[str]:
    """``dbt build``, limited to a range of years for the incremental models."""
    args = ["build"]
    if years is not None:
        args += ["--vars", json.dumps({"min_year": years[0], "max_year": years[1]})]
    return args


def _point_dbt_at_the_warehouse() -> None:
    # profiles.yml reads the warehouse path from the environment; set it from the validated settings
    os.environ.update(Settings.from_env().dbt_env())


@dbt_assets(manifest=ensure_manifest(), exclude=INCREMENTAL_SELECTOR, dagster_dbt_translator=TRANSLATOR, pool=WAREHOUSE_POOL)
def kpi_dbt_models(context: dg.AssetExecutionContext):
    _point_dbt_at_the_warehouse()
    yield from build(context, dbt_build_args())


@dbt_assets(
    manifest=ensure_manifest(),
    select=INCREMENTAL_SELECTOR,
    dagster_dbt_translator=TRANSLATOR,
    partitions_def=YEARLY,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool=WAREHOUSE_POOL,
)
def kpi_dbt_incremental_models(context: dg.AssetExecutionContext):
    _point_dbt_at_the_warehouse()
    yield from build(context, dbt_build_args(year_range(context)))
