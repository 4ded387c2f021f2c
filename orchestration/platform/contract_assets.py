"""What the marts take from the sources' own contracts, as an asset: ``meta.source_contracts``, one row
per discovered source (title, licence, cadence) from its SPEC, which dbt's ``dim_kpi`` reads. A
licence is written once, in its source's package."""

import dagster as dg

from orchestration.platform.jobs import SOURCES
from orchestration.platform.resources import (
    AlertingResource, HttpResource, ServingResource, SourcesResource, WarehouseResource, settings_for_step,
)
from orchestration.platform.source_assets import WAREHOUSE_POOL, confirm_writer
from orchestration.load.engines import warehouse_for
from orchestration.transform.contracts import source_contract_rows

SOURCE_CONTRACTS_KEY = dg.AssetKey(["meta", "source_contracts"])


@dg.asset(key=SOURCE_CONTRACTS_KEY, group_name="reference", pool=WAREHOUSE_POOL, kinds={"duckdb"},
          description="Every source's title, licence and cadence from its SPEC (orchestration/sources/<source>/), "
                      "replaced whole before each dbt build: dim_kpi reads each KPI's licence from here.")
def source_contracts(context: dg.AssetExecutionContext, warehouse: WarehouseResource, sources: SourcesResource,
                     http: HttpResource, serving: ServingResource, alerting: AlertingResource) -> dg.MaterializeResult:
    settings = settings_for_step(warehouse, sources, http, serving, alerting)
    warehouse.hold(context, settings)
    rows = source_contract_rows(SOURCES)
    confirm_writer(context, settings)
    warehouse_for(settings).record_source_contracts(rows)
    return dg.MaterializeResult(metadata={"sources": len(rows), "licences": dg.MetadataValue.json(
        {row["source_id"]: row["licence"] for row in rows})})
