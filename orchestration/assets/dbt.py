"""The dbt project as Dagster assets; dbt tests become (blocking) asset checks.

``dbt build`` runs models and their tests in DAG order and skips a model's dependants when one of
its tests fails, and a failed build fails the step, so publishing (downstream) never runs on a
build with a failed test.
"""


import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from orchestration.assets.sources import RAW_PREFIX, WAREHOUSE_POOL
from orchestration.dbt_manifest import ensure_manifest
from orchestration.settings import DBT_PROJECT_DIR, Settings


class KpiDbtTranslator(DagsterDbtTranslator):
    """Maps dbt sources onto the loading assets' keys (raw/<table>); models keep dbt's defaults."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return dg.AssetKey([RAW_PREFIX, dbt_resource_props["name"]])
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        parts = dbt_resource_props.get("fqn", [])
        return parts[1] if len(parts) > 2 and parts[1] in ("staging", "intermediate", "marts") else "reference"


def dbt_build_args() -> list[str]:
    return ["build"]


@dbt_assets(
    manifest=ensure_manifest(),
    dagster_dbt_translator=KpiDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True)),
    pool=WAREHOUSE_POOL,
)
def kpi_dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    # profiles.yml reads the warehouse path from the environment; set it from the validated settings
    os.environ.update(Settings.from_env().dbt_env())
    yield from dbt.cli(dbt_build_args(), context=context).stream()


def dbt_resource() -> DbtCliResource:
    # the dbt of this virtual environment, whatever PATH says (dagster dev, cron, CI)
    dbt_executable = Path(sys.executable).with_name("dbt")
    return DbtCliResource(project_dir=str(DBT_PROJECT_DIR), profiles_dir=str(DBT_PROJECT_DIR),
                          dbt_executable=str(dbt_executable))
