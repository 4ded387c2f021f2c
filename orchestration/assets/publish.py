"""Publish the marts for BI tools, only after every load check and every dbt test passed.

Write-audit-publish: the loads and ``dbt build`` write and test the warehouse (write, audit); this
asset runs only when all of them succeeded (a failed GX suite or dbt test fails its step, and Dagster
skips everything downstream), and swaps the new serving copy in at once (publish).
"""

import os

import dagster as dg

from orchestration.assets.dbt import kpi_dbt_incremental_models, kpi_dbt_models
from orchestration.assets.sources import WAREHOUSE_POOL
from orchestration.postgres import PostgresTarget
from orchestration.publish import SERVING_FILE, dbt_docs, publish, validation_summary_html
from orchestration.settings import Settings


def last_check_results(context: dg.AssetExecutionContext) -> list[dict]:
    """The latest evaluation of every asset check of the code location (GX suites and dbt tests)."""
    from orchestration.definitions import defs  # the whole code location, also when this run is a subset

    check_keys = sorted(defs.resolve_asset_graph().asset_check_keys, key=lambda k: k.to_user_string())
    latest = context.instance.event_log_storage.get_latest_asset_check_execution_by_key(check_keys)
    results = []
    for key in check_keys:
        record = latest.get(key)
        evaluation = None
        if record is not None and record.event is not None and record.event.dagster_event is not None:
            evaluation = record.event.dagster_event.event_specific_data
        if evaluation is None or not hasattr(evaluation, "passed"):
            status = "not run" if record is None else record.status.value.lower()
            results.append({"asset": key.asset_key.to_user_string(), "check": key.name, "status": status,
                            "severity": "", "details": ""})
            continue
        details = "; ".join(f"{name}: {value.value}" for name, value in evaluation.metadata.items()
                            if name in ("rows", "expectations_evaluated", "expectations_failed", "failures", "dagster_dbt/failed_row_count"))
        results.append({
            "asset": key.asset_key.to_user_string(), "check": key.name,
            "status": "passed" if evaluation.passed else
                      "warning" if evaluation.severity == dg.AssetCheckSeverity.WARN else "failed",
            "severity": evaluation.severity.value if evaluation.severity else "",
            "details": details,
        })
    return results


@dg.asset(
    key=dg.AssetKey(["serving", "kpi_marts"]),
    # every dbt asset: a failed model or test anywhere skips publishing
    deps=[kpi_dbt_models, kpi_dbt_incremental_models],
    group_name="serving",
    kinds={"duckdb", "parquet"},
    pool=WAREHOUSE_POOL,
    description="The marts copied to KPI_SERVING_DIR (DuckDB file in storage v1.0.0, Parquet, dbt docs and "
                "the last validation's results) by an atomic swap; also to PostgreSQL with KPI_PUBLISH_POSTGRES=1.",
)
def published_marts(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    settings = Settings.from_env()
    postgres = PostgresTarget.from_env(os.environ)
    docs = dbt_docs(settings)
    checks = last_check_results(context)
    record = publish(
        settings, run_id=context.run.run_id, docs_dir=docs, postgres=postgres,
        extra_docs={"validation.html": validation_summary_html(checks, f"Run {context.run.run_id}.")},
    )
    context.log.info(f"published {record['publication_id']} to {settings.serving_dir}"
                     + (f" and {postgres.describe()} schema {postgres.publish_schema}" if postgres.publish else ""))
    if record["cleaned_stale"]:
        context.log.warning(f"removed what an interrupted publish left: {', '.join(record['cleaned_stale'])}")
    metadata = {
        "publication_id": record["publication_id"],
        "serving_file": dg.MetadataValue.path(str(settings.serving_dir / SERVING_FILE)),
        "row_counts": record["row_counts"],
        "source_vintages": record["source_vintages"],
        "git_revision": record["git_revision"],
        "checks_passed": sum(1 for c in checks if c["status"] == "passed"),
    }
    if postgres.publish:
        metadata["postgres"] = f"{postgres.describe()} schema {postgres.publish_schema}"
    return dg.MaterializeResult(metadata=metadata)
