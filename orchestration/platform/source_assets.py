"""One loading asset per source, built from its SourceSpec: fetch (or replay) -> parse -> validate -> load.

Validation runs on the parsed DataFrames before anything is written, as blocking asset checks: a
failed suite fails the step, so nothing downstream runs and the raw tables keep the last good load.
"""


import contextlib

import dagster as dg

from orchestration.core.errors import KpiWarehouseError
from orchestration.load.step import LOAD, PENDING, needs_parse, run_load
from orchestration.platform.partitions import YEARLY, forced, year_range
from orchestration.check.plausibility import CHECK_SUITE as PLAUSIBILITY_SUITE
from orchestration.publish.publication import outdated_publication, published_load_seq
from orchestration.core.settings import Settings
from orchestration.sources.contract import SourceSpec
from orchestration.load.engines import warehouse_for
from orchestration.load.lock import WriterLockLost, check_still_writer
from orchestration.load import parse_ahead
from orchestration.load.fetch_phase import FETCH_PHASE_TAG, acquire_source, landings_from, run_phase
from orchestration.load.parse_ahead import ParseAhead
from orchestration.platform.resources import (
    AlertingResource, HttpResource, ServingResource, SourcesResource, WarehouseResource, settings_for_step,
)

RAW_PREFIX = "raw"
RAW_GROUP = "raw"
WAREHOUSE_POOL = "warehouse_writer"


def raw_asset_key(dataset: str) -> dg.AssetKey:
    return dg.AssetKey([RAW_PREFIX, dataset])


def suite_check_name(suite: str) -> str:
    return f"gx_{suite}"


def check_specs_for(spec: SourceSpec) -> list[dg.AssetCheckSpec]:
    """One blocking check per loaded dataset's suite; reconciliation suites hang on the first dataset."""
    checks = [
        dg.AssetCheckSpec(suite_check_name(dataset.name), asset=raw_asset_key(dataset.name), blocking=True,
                          description=f"Great Expectations suite expectations/suites/{dataset.name}.json on the load")
        for dataset in spec.datasets
    ]
    checks += [
        dg.AssetCheckSpec(suite_check_name(suite), asset=raw_asset_key(spec.datasets[0].name), blocking=True,
                          description=f"Great Expectations suite expectations/suites/{suite}.json (reconciliation)")
        for suite in spec.check_suites
    ]
    checks.append(dg.AssetCheckSpec(suite_check_name(PLAUSIBILITY_SUITE), asset=raw_asset_key(spec.datasets[0].name), blocking=True,
                                    description="expectations/suites/plausibility_check.json: the release against the previous "
                                                "release of each series and against population (orchestration/check/plausibility.py)"))
    return checks


@contextlib.contextmanager
def _fail_at_once_unless_retryable():
    """A step retry only helps when the error can pass (a network fault, 429, 5xx): everything else
    (bad bytes, an error body, a 404, a refused redirect, a spent deadline, a missing snapshot) fails
    the step at once instead of fetching and archiving the same thing again after the retry delay."""
    try:
        yield
    except KpiWarehouseError as exc:
        if exc.retryable:
            raise
        raise dg.Failure(description=str(exc), allow_retries=False) from exc


def _check_owner(spec: SourceSpec, suite: str) -> str:
    return suite if suite in {dataset.name for dataset in spec.datasets} else spec.datasets[0].name


# An observation's metadata key: the raw table holds a load the live publication lacks, so the
# transform and publication follow although this run loaded nothing.
AWAITS_PUBLICATION = "awaits_publication"


def raw_assets_to_transform(events) -> list[str]:
    """The raw tables (``raw/<table>``) that the Dagster events of a load run show reloaded
    (materialized) or awaiting publication (observed so): the transform and publication follow them."""
    keys = set()
    for event in events:
        if event.asset_key is None or event.asset_key.path[0] != RAW_PREFIX:
            continue
        if event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
            keys.add(event.asset_key.to_user_string())
        elif event.event_type == dg.DagsterEventType.ASSET_OBSERVATION:
            awaits = event.event_specific_data.asset_observation.metadata.get(AWAITS_PUBLICATION)
            if awaits is not None and awaits.value is True:
                keys.add(event.asset_key.to_user_string())
    return sorted(keys)


def confirm_writer(context: dg.AssetExecutionContext, settings: Settings) -> None:
    """Right before a step writes: the run still holds the warehouse (a lost PostgreSQL session or
    lock file stops the run here, saying why, instead of writing beside another writer)."""
    try:
        check_still_writer(warehouse_for(settings).writer_lock(), context.run_id)
    except WriterLockLost as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from exc


def specs_in_selection(asset_selection) -> list[SourceSpec]:
    """The sources a run loads: those with a raw asset in its selection (None or empty: the whole job,
    every source)."""
    from orchestration.sources import discover

    specs = list(discover())
    if not asset_selection:
        return specs
    return [spec for spec in specs if any(raw_asset_key(dataset.name) in asset_selection for dataset in spec.datasets)]


def fetch_phase_of_run(context: dg.AssetExecutionContext, settings: Settings):
    """Live mode: the landings this run's fetch phase got, running the phase first if nobody has
    (orchestration/load/fetch_phase.py), before this step takes the writer lock. A retry of the step
    fetches its source again itself (None)."""
    if settings.source_mode != "live" or context.retry_number > 0:
        return None
    phase_id = context.dagster_run.tags.get(FETCH_PHASE_TAG) or context.run_id
    results = run_phase(phase_id, specs_in_selection(context.dagster_run.asset_selection), settings, log=context.log.info)
    return landings_from(results, settings)


def parse_ahead_of_run(context: dg.AssetExecutionContext, settings: Settings, fetched) -> ParseAhead | None:
    """The run's parse-ahead worker (orchestration/load/parse_ahead.py), started by its first loading
    step: the sources of the run that will parse, with the landings the run has for them (the snapshot's,
    or its fetch phase's; a live source without a phase record fetches in its step, so it is left out).
    None with PostgreSQL, whose loading steps run in processes of their own."""
    store = warehouse_for(settings)
    if store.concurrent_writers:
        return None

    def jobs() -> dict:
        todo = {}
        for spec in specs_in_selection(context.dagster_run.asset_selection):
            try:
                landings = fetched(spec) if fetched is not None else None
                if landings is None and settings.source_mode == "replay":
                    landings = acquire_source(spec, settings)
            except KpiWarehouseError:
                continue  # its step raises it
            if landings and needs_parse(store.load_history(spec.name), landings, settings.countries, forced(context)):
                todo[spec.name] = landings
        return todo

    try:
        return parse_ahead.start(context.run_id, jobs, settings, log=context.log.info)
    except Exception as exc:  # noqa: BLE001 - parsing ahead only saves time: without it, each step parses
        context.log.warning(f"not parsing ahead ({type(exc).__name__}: {exc}); each step parses its own source")
        return None


def build_source_asset(spec: SourceSpec) -> dg.AssetsDefinition:
    @dg.multi_asset(
        name=f"load_{spec.name}",
        specs=[
            dg.AssetSpec(raw_asset_key(dataset.name), description=dataset.description, group_name=RAW_GROUP,
                         kinds={"duckdb", "python"}, skippable=True, freshness_policy=spec.freshness_policy,
                         metadata={"source": spec.title, "licence": spec.licence, "year_column": dataset.year_column or ""})
            for dataset in spec.datasets
        ],
        check_specs=check_specs_for(spec),
        # a suite that did not run reports nothing (Dagster shows it planned, not executed), so the
        # checks must be optional outputs; a subset selection of the tables loads the source whole
        # (its loads replace every table at once) and reports the selected tables
        can_subset=True,
        partitions_def=YEARLY,
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool=WAREHOUSE_POOL,
        retry_policy=dg.RetryPolicy(max_retries=1, delay=30, backoff=dg.Backoff.EXPONENTIAL),
    )
    def load(context: dg.AssetExecutionContext, warehouse: WarehouseResource, sources: SourcesResource,
             http: HttpResource, serving: ServingResource, alerting: AlertingResource):
        settings = settings_for_step(warehouse, sources, http, serving, alerting)
        fetched = fetch_phase_of_run(context, settings)  # before the lock: fetching never holds it
        warehouse.hold(context, settings)
        ahead = parse_ahead_of_run(context, settings, fetched)
        with _fail_at_once_unless_retryable():
            outcome = run_load(spec, settings, year_range(context), forced(context),
                               published_load_seq(settings.serving_dir), run_id=context.run_id, log=context.log.info,
                               fetched=fetched, before_write=lambda: confirm_writer(context, settings),
                               outdated_publication=outdated_publication(settings.serving_dir), ahead=ahead)
        plan = outcome.plan
        selected = [dataset for dataset in spec.datasets if raw_asset_key(dataset.name) in context.selected_asset_keys]
        if plan.action != LOAD:
            # nothing loaded: no materialization and no check result (the suites did not run)
            if plan.action == PENDING:
                # the raw tables hold a load the publication lacks: the transform and publication follow
                for dataset in selected:
                    yield dg.AssetObservation(asset_key=raw_asset_key(dataset.name),
                                              metadata={"reloaded": False, AWAITS_PUBLICATION: True, "reason": plan.reason})
            return
        years_text = f"{plan.years[0]}-{plan.years[1]}"
        if outcome.empty_suites:
            context.log.info(f"suites not run, no rows for {years_text} to validate: {', '.join(outcome.empty_suites)}")
        for report in outcome.reports:  # the suites that ran (one over no rows does not: nothing to validate)
            check_key = dg.AssetCheckKey(raw_asset_key(_check_owner(spec, report.dataset)), suite_check_name(report.dataset))
            if check_key in context.selected_asset_check_keys:
                yield dg.AssetCheckResult(asset_key=check_key.asset_key, check_name=check_key.name, passed=report.success,
                                          metadata=report.metadata(), severity=dg.AssetCheckSeverity.ERROR)
        if outcome.failed:
            raise dg.Failure(
                description=f"[{spec.name}] validation failed, nothing was loaded: " + " | ".join(r.message() for r in outcome.failed),
                metadata={"failed_suites": [r.suite_file for r in outcome.failed]},
                allow_retries=False,
            )
        for dataset in selected:
            yield dg.MaterializeResult(
                asset_key=raw_asset_key(dataset.name),
                metadata={**outcome.counts[dataset.name], "load_id": outcome.load_id, "mode": settings.source_mode,
                          "years": years_text, "whole_release": plan.whole_release, "reason": plan.reason,
                          "landings_sha256": outcome.fingerprint, "landings": outcome.describe_landings()},
            )

    return load
