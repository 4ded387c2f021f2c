"""The dbt project as ONE Dagster asset step; dbt tests become (blocking) asset checks.

Every model is built by one ``dbt build`` (models and their tests in DAG order; a model's
dependants are skipped when one of its tests fails, and a failed build fails the step, so
publishing, downstream, never runs on it). The step is not partitioned: the yearly partitions say
which years the loaders re-read, and the incremental facts (tag ``incremental``) rebuild the years
that changed since the live publication (``orchestration.transform.plan``), which covers the run's
own range and whatever an earlier run loaded but never published. So a UI backfill, a daily run
after a crash and a full build all leave the facts as a full build would; and Dagster's asset
backfills, which stop at unpartitioned assets when they spread partitions downstream, cannot skip
a partitioned fact behind an unpartitioned view. dbt runs in-process (``orchestration.transform.dbt_runner``).

The step builds only the models downstream of the sources with loads since the live publication
(the load ledger says which); every test with a rebuilt parent runs. Models outside that yield
no materialization and their tests' planned checks end skipped, so the run and the asset graph
show what was rebuilt and checked, and what was not. A changed dbt project rebuilds what dbt's
``state:modified+`` finds changed against every build the warehouse may hold
(``orchestration.transform.state``): each build records itself and its project's manifest before it
writes anything. No publication, a project dbt cannot compare, or a run with nothing pending
builds everything.
"""

import json
from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, dbt_assets

from orchestration.platform.resources import (
    AlertingResource, HttpResource, ServingResource, SourcesResource, WarehouseResource, settings_for_step,
)
from orchestration.platform.source_assets import RAW_PREFIX, WAREHOUSE_POOL, confirm_writer
from orchestration.transform.manifest import ensure_manifest
from orchestration.transform.dbt_runner import build
from orchestration.platform.jobs import SOURCES
from orchestration.platform.partitions import run_partition_range
from orchestration.publish.publication import current_publication, published_load_seq
from orchestration.transform.plan import dbt_vars, plan_transform
from orchestration.transform.state import current_version, modified_nodes, record_attempt
from orchestration.core.settings import DBT_PROJECT_DIR
from orchestration.load.engines import warehouse_for
from orchestration.load.upgrade import drop_relations_no_model_defines, rebuild_changed_relations


class KpiDbtTranslator(DagsterDbtTranslator):
    """Maps dbt sources onto the keys of what writes them (<schema>/<table>: the loading assets' raw/<table>,
    and meta/source_contracts, the asset that writes every source's contract before the build); models keep dbt's defaults."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return dg.AssetKey([dbt_resource_props.get("schema") or RAW_PREFIX, dbt_resource_props["name"]])
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        parts = dbt_resource_props.get("fqn", [])
        return parts[1] if len(parts) > 2 and parts[1] in ("staging", "intermediate", "marts") else "reference"


TRANSLATOR = KpiDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


def dbt_build_args(dbt_vars: Mapping[str, int] | None = None) -> list[str]:
    """``dbt build``, with the incremental facts' range of years as vars."""
    args = ["build"]
    if dbt_vars:
        args += ["--vars", json.dumps(dict(dbt_vars))]
    return args


def _manifest(context: dg.AssetExecutionContext) -> Mapping[str, Any]:
    from orchestration.transform.dbt_internals import manifest_and_translator

    return manifest_and_translator(context.assets_def)[0]


@dbt_assets(manifest=ensure_manifest(), dagster_dbt_translator=TRANSLATOR, pool=WAREHOUSE_POOL)
def kpi_dbt_models(context: dg.AssetExecutionContext, warehouse: WarehouseResource, sources: SourcesResource,
                     http: HttpResource, serving: ServingResource, alerting: AlertingResource):
    settings = settings_for_step(warehouse, sources, http, serving, alerting)
    warehouse.hold(context, settings)
    store = warehouse_for(settings)
    profile = settings.dbt_env()  # the profile's values go to dbt alone, never to os.environ
    publication = current_publication(settings.serving_dir)
    pending = store.load_history(after_seq=published_load_seq(settings.serving_dir))
    load_seq = store.last_load_seq()
    project = current_version()
    manifest = _manifest(context)
    # seeds and incremental models whose columns changed (an upgrade) are dropped, so this build
    # reloads and rebuilds them whole, and everything downstream of them: every model, every year
    rebuilt_whole = rebuild_changed_relations(store, manifest, DBT_PROJECT_DIR, log=context.log.info)
    # a model the project no longer has (removed by a new version) leaves no relation to publish
    drop_relations_no_model_defines(store, manifest, log=context.log.info)
    modified = None if rebuilt_whole else modified_nodes(store, publication, project, DBT_PROJECT_DIR, profile)
    plan = plan_transform(publication is not None, pending, run_partition_range(context.run.tags),
                          (settings.first_year, settings.last_year), {spec.name for spec in SOURCES}, modified, manifest)
    context.log.info("incremental facts: " + (f"rebuilding {plan.years[0]}-{plan.years[1]}" if plan.years else
                     "nothing changed since the live publication") + f" ({len(pending)} load(s) since the publication)")
    context.log.info(plan.reason)
    confirm_writer(context, settings)
    attempt = record_attempt(store, project, context.run_id, publication, DBT_PROJECT_DIR, profile)
    yield from build(context, dbt_build_args(dbt_vars(plan.years)), sample_rows=store.sample_rows,
                     narrow_to=plan.selection, profile=profile)
    store.record_transform_build(load_seq, project.transform_fingerprint, context.run_id, plan.years, attempt)
