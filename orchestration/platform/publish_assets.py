"""Publish the marts for BI tools, only after every load check and every dbt test passed.

Write-audit-publish: the loads and ``dbt build`` write and test the warehouse; this step runs only
when all of them succeeded (a failed GX suite or dbt test fails its step, and Dagster skips
everything downstream), audits the candidate against the live publication, and switches the whole
publication (data, Parquet, docs, report, record) in at once. The report is built in the same step,
before the switch, so a reader never sees new data beside an old report.
"""

import dagster as dg

from orchestration.platform.dbt_assets import kpi_dbt_models
from orchestration.platform.jobs import source_assets
from orchestration.platform.resources import (
    AlertingResource, HttpResource, ServingResource, SourcesResource, WarehouseResource, settings_for_step,
)
from orchestration.platform.source_assets import WAREHOUSE_POOL, confirm_writer
from orchestration.publish.publication import (
    ACCEPT_SHRINK_TAG, RELEASES_DIR, REPORT_FILE, SERVING_FILE, PublicationRejected, dbt_docs, publish,
    validation_summary_html,
)
from orchestration.publish.surge_alerts import raise_alerts
from orchestration.load.engines import warehouse_for

PUBLISHED_MARTS_KEY = dg.AssetKey(["serving", "kpi_marts"])
REPORT_KEY = dg.AssetKey(["serving", "kpi_report"])


def models_every_build_rebuilds() -> list[dg.AssetKey]:
    """What publishing waits for: the marts every dbt build rebuilds (kpi_annual and the marts over
    every source). A build for the sources that changed materializes only their models, and
    Dagster skips a step when an output it depends on was not produced; a failed model or test
    anywhere fails the whole dbt step, and then publishing does not run either."""
    import json

    from dagster_dbt import build_dbt_asset_selection

    from orchestration.transform.manifest import ensure_manifest
    from orchestration.transform.plan import dbt_source_names, every_source_selector

    sources = dbt_source_names(json.loads(ensure_manifest().read_text()))
    selection = build_dbt_asset_selection([kpi_dbt_models], dbt_select=every_source_selector(sources))
    return sorted(selection.resolve([kpi_dbt_models]), key=lambda key: key.to_user_string())


def defined_marts() -> frozenset[str]:
    """The marts the dbt project builds (the asset keys marts/<name> of its models): a live mart not
    among them was removed from the project, and the publication audit does not count it as lost."""
    return frozenset(key.path[-1] for key in kpi_dbt_models.keys if key.path[0] == "marts")


def last_check_results(context: dg.AssetExecutionContext) -> list[dict]:
    """The latest evaluation of every asset check of the code location (GX suites and dbt tests)."""
    # every check of the code location (the loaders' suites and dbt's tests), also when this run is a subset
    check_keys = sorted({key for assets_def in (*source_assets, kpi_dbt_models) for key in assets_def.check_keys},
                        key=lambda k: k.to_user_string())
    storage = context.instance.event_log_storage
    latest = storage.get_latest_asset_check_execution_by_key(check_keys)
    results = []
    for key in check_keys:
        record = latest.get(key)
        evaluation = _evaluation(record)
        if evaluation is None and record is not None and record.run_id == context.run_id:
            # planned in this run but not run: its models were not rebuilt (their inputs did not change)
            results.append(skipped_check_result(key, _last_evaluated(storage, key)))
            continue
        if evaluation is None and record is not None and record.status.value == "PLANNED" and _run_finished(context, record.run_id):
            # planned in a finished run that did not run it: a load suite with nothing new to validate
            results.append(skipped_check_result(key, _last_evaluated(storage, key), why="nothing new to validate in run "
                                                f"{record.run_id[:8]}"))
            continue
        if evaluation is None:
            status = "not run" if record is None else record.status.value.lower()
            results.append({"asset": key.asset_key.to_user_string(), "check": key.name, "status": status,
                            "severity": "", "details": ""})
            continue
        details = "; ".join(f"{name}: {value.value}" for name, value in evaluation.metadata.items()
                            if name in ("rows", "expectations_evaluated", "expectations_failed", "failures", "dagster_dbt/failed_row_count"))
        results.append({
            "asset": key.asset_key.to_user_string(), "check": key.name,
            "status": _status(evaluation),
            "severity": evaluation.severity.value if evaluation.severity else "",
            "details": details,
        })
    return results


def _evaluation(record):
    if record is not None and record.event is not None and record.event.dagster_event is not None:
        evaluation = record.event.dagster_event.event_specific_data
        return evaluation if hasattr(evaluation, "passed") else None
    return None


def _last_evaluated(storage, key: dg.AssetCheckKey):
    """The newest record of ``key`` that has an evaluation (an earlier run's), or None."""
    from orchestration.platform.dagster_internals import AssetCheckExecutionRecordStatus

    records = storage.get_asset_check_execution_history(
        key, limit=1, status={AssetCheckExecutionRecordStatus.SUCCEEDED, AssetCheckExecutionRecordStatus.FAILED})
    return records[0] if records else None


def _run_finished(context: dg.AssetExecutionContext, run_id: str) -> bool:
    run = context.instance.get_run_by_id(run_id)
    return run is not None and run.is_finished


def skipped_check_result(key: dg.AssetCheckKey, last, why: str = "its model was not rebuilt in this run (inputs unchanged)") -> dict:
    """A check a run planned but did not run, with what it said when it last ran."""
    evaluation = _evaluation(last)
    outcome = None if evaluation is None else _status(evaluation)
    details = (f"not rerun: {why}; "
               + ("no earlier evaluation" if evaluation is None else f"{outcome} in run {last.run_id[:8]}"))
    return {"asset": key.asset_key.to_user_string(), "check": key.name, "status": "skipped", "last": outcome,
            "severity": evaluation.severity.value if evaluation is not None and evaluation.severity else "", "details": details}


def _status(evaluation) -> str:
    return "passed" if evaluation.passed else "warning" if evaluation.severity == dg.AssetCheckSeverity.WARN else "failed"


def surge_signals_key() -> dg.AssetKey:
    from dagster_dbt import get_asset_key_for_model

    return get_asset_key_for_model([kpi_dbt_models], "surge_signals")


def observe_surge_alerts(context: dg.AssetExecutionContext, settings, record: dict) -> None:
    """The publication's new surge alerts and revision notes (orchestration/publish/surge_alerts.py), each also
    an observation of the surge_signals asset, so that the Dagster UI shows it on the publishing run.
    Raised after the switch: an alert names a publication readers can open."""
    serving_file = settings.serving_dir / RELEASES_DIR / record["publication_id"] / SERVING_FILE
    try:
        outcome = raise_alerts(serving_file, settings.failures_dir, record["publication_id"], context.run.run_id,
                               settings.alert_webhook_url, log=context.log.warning)
    except Exception as exc:  # noqa: BLE001  the publication is live already: say so loudly, do not undo it
        context.log.error(f"surge alerts of publication {record['publication_id']} could not be raised: "
                          f"{type(exc).__name__}: {exc}")
        record["surge_alerts"] = {"alerts": 0, "revisions_noted": 0, "error": type(exc).__name__}
        return
    for note in outcome.alerts + outcome.revisions:
        context.log_event(dg.AssetObservation(asset_key=surge_signals_key(), description=note["message"], metadata={
            "kind": note["kind"], "country_iso3": note["country_iso3"], "series": note["series"], "month": note["month"],
            "level": note["level"], "value": note["value"],
            "expected_value": dg.MetadataValue.float(float(note["expected_value"] or 0.0)),
            "publication_id": note["publication_id"], "source_vintage": note["source_vintage"]}))
    record["surge_alerts"] = {"alerts": len(outcome.alerts), "revisions_noted": len(outcome.revisions)}


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            PUBLISHED_MARTS_KEY,
            # the dbt step: a failed model or test anywhere fails it, and publishing does not run
            deps=models_every_build_rebuilds(), group_name="serving", kinds={"duckdb", "parquet"},
            description="The marts published to KPI_SERVING_DIR as one unit (DuckDB file in storage v1.0.0, "
                        "Parquet, dbt docs, the last validation's results, the KPI report, the record), audited "
                        "against the live publication and switched in by one rename; also to PostgreSQL with "
                        "KPI_PUBLISH_POSTGRES=1 (a schema swap in one transaction). Built from the warehouse of "
                        "KPI_WAREHOUSE (DuckDB or PostgreSQL).",
        ),
        dg.AssetSpec(
            REPORT_KEY, deps=[PUBLISHED_MARTS_KEY], group_name="serving", kinds={"html"},
            description="A static HTML scorecard (inline SVG charts, renders offline) of the publication, built "
                        f"before the switch, in the same release: KPI_SERVING_DIR/{REPORT_FILE}.",
        ),
    ],
    pool=WAREHOUSE_POOL,
    name="publish_marts",
)
def published_marts(context: dg.AssetExecutionContext, warehouse: WarehouseResource, sources: SourcesResource,
                     http: HttpResource, serving: ServingResource, alerting: AlertingResource):
    settings = settings_for_step(warehouse, sources, http, serving, alerting)
    warehouse.hold(context, settings)
    docs = dbt_docs(settings)
    checks = last_check_results(context)
    build = warehouse_for(settings).last_transform_build() or {}
    confirm_writer(context, settings)
    try:
        record = publish(
            settings, run_id=context.run.run_id, docs_dir=docs, postgres=settings.postgres,
            extra_docs={"validation.html": validation_summary_html(checks, f"Run {context.run.run_id}.")},
            accept_shrink=context.run.tags.get(ACCEPT_SHRINK_TAG, "false").lower() == "true",
            warehouse_load_seq=build.get("load_seq", 0), transform_fingerprint=build.get("transform_fingerprint"),
            transform_attempt=build.get("attempt_seq"), defined_marts=defined_marts(), log=context.log.warning,
        )
    except PublicationRejected as exc:
        raise dg.Failure(description=str(exc), allow_retries=False,
                         metadata={"findings": [finding.describe() for finding in exc.findings],
                                   "candidate": dg.MetadataValue.path(str(exc.candidate_dir))}) from exc
    observe_surge_alerts(context, settings, record)
    postgres = settings.postgres.publishing()
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
        "warehouse_load_seq": record["warehouse_load_seq"],
        "audit_findings_accepted": record["audit"]["findings"],
        "checks_passed": sum(1 for c in checks if c["status"] == "passed"),
        "surge_alerts": record["surge_alerts"]["alerts"],
        "surge_revisions_noted": record["surge_alerts"]["revisions_noted"],
    }
    if postgres.publish:
        metadata["postgres"] = f"{postgres.describe()} schema {postgres.publish_schema}"
    yield dg.MaterializeResult(asset_key=PUBLISHED_MARTS_KEY, metadata=metadata)
    yield dg.MaterializeResult(asset_key=REPORT_KEY, metadata={
        "publication_id": record["publication_id"], "charts": record["report"]["charts"],
        "report": dg.MetadataValue.path(str(settings.serving_dir / REPORT_FILE)),
    })
