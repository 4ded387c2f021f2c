"""Publish the marts for BI tools, only after every load check and every dbt test passed."""


import dagster as dg

from orchestration.assets.dbt import kpi_dbt_models
from orchestration.assets.sources import WAREHOUSE_POOL
from orchestration.publish import publish
from orchestration.settings import Settings


@dg.asset(
    key=dg.AssetKey(["serving", "kpi_marts"]),
    deps=[kpi_dbt_models],
    group_name="serving",
    kinds={"duckdb", "parquet"},
    pool=WAREHOUSE_POOL,
    description="The marts copied to KPI_SERVING_DIR (DuckDB file in storage v1.0.0, and Parquet) by an atomic swap.",
)
def published_marts(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    settings = Settings.from_env()
    record = publish(settings, run_id=context.run.run_id)
    context.log.info(f"published {record['publication_id']} to {settings.serving_dir}")
    return dg.MaterializeResult(metadata={
        "publication_id": record["publication_id"],
        "serving_file": dg.MetadataValue.path(str(settings.serving_dir / "kpi.duckdb")),
        "row_counts": record["row_counts"],
        "source_vintages": record["source_vintages"],
        "git_revision": record["git_revision"],
    })
