"""One loading asset per source, built from its SourceSpec: fetch (or replay) -> parse -> validate -> load.

Validation runs on the parsed DataFrames before anything is written, as blocking asset checks: a
failed suite fails the step, so nothing downstream runs and the raw tables keep the last good load.
"""


import dagster as dg

from orchestration.errors import SourceFormatError
from orchestration.settings import Settings
from orchestration.sources.base import SourceSpec
from orchestration.transport import acquire_landings, describe_landings
from orchestration.validation import validate_frame
from orchestration.warehouse import load_raw, new_load_id

RAW_PREFIX = "raw"
WAREHOUSE_POOL = "duckdb_warehouse_writer"


def raw_asset_key(dataset: str) -> dg.AssetKey:
    return dg.AssetKey([RAW_PREFIX, dataset])


def suite_check_name(suite: str) -> str:
    return f"gx_{suite}"


def check_specs_for(spec: SourceSpec) -> list[dg.AssetCheckSpec]:
    """One blocking check per loaded dataset's suite; reconciliation suites hang on the first dataset."""
    checks = [
        dg.AssetCheckSpec(suite_check_name(dataset.name), asset=raw_asset_key(dataset.name), blocking=True,
                          description=f"Great Expectations suite expectations/{dataset.name}.json on the load")
        for dataset in spec.datasets
    ]
    checks += [
        dg.AssetCheckSpec(suite_check_name(suite), asset=raw_asset_key(spec.datasets[0].name), blocking=True,
                          description=f"Great Expectations suite expectations/{suite}.json (reconciliation)")
        for suite in spec.check_suites
    ]
    return checks


def build_source_asset(spec: SourceSpec) -> dg.AssetsDefinition:
    @dg.multi_asset(
        name=f"load_{spec.name}",
        specs=[
            dg.AssetSpec(raw_asset_key(dataset.name), description=dataset.description, group_name="raw",
                         kinds={"duckdb", "python"}, metadata={"source": spec.title, "licence": spec.licence})
            for dataset in spec.datasets
        ],
        check_specs=check_specs_for(spec),
        pool=WAREHOUSE_POOL,
        retry_policy=dg.RetryPolicy(max_retries=1, delay=30, backoff=dg.Backoff.EXPONENTIAL),
    )
    def load_source(context: dg.AssetExecutionContext):
        settings = Settings.from_env()
        landings = acquire_landings(
            spec.name, settings.source_mode, settings.snapshot_dir, settings.landing_dir,
            lambda fetcher: spec.fetch(fetcher, settings),
            base_url=getattr(settings, spec.base_url_setting), licence=spec.licence,
            timeout_seconds=settings.http_timeout_seconds, retries=settings.http_retries,
            backoff_factor=settings.http_backoff_factor,
        )
        context.log.info(f"{spec.name}: {len(landings)} landing(s) to parse ({settings.source_mode} mode)")
        try:
            frames = spec.parse(landings, settings)
        except SourceFormatError as exc:
            # bad bytes stay bad: retrying would only repeat the failure (network faults do retry)
            raise dg.Failure(description=str(exc), allow_retries=False) from exc
        reports = [validate_frame(dataset.name, frames[dataset.name]) for dataset in spec.datasets]
        check_frames = spec.check_frames(frames)
        if set(check_frames) != set(spec.check_suites):
            raise RuntimeError(f"{spec.name}: check_frames returned {sorted(check_frames)}, SPEC.check_suites declares {sorted(spec.check_suites)}")
        reports += [validate_frame(suite, frame) for suite, frame in check_frames.items()]
        for report in reports:
            owner = report.dataset if report.dataset in frames else spec.datasets[0].name
            yield dg.AssetCheckResult(
                asset_key=raw_asset_key(owner), check_name=suite_check_name(report.dataset),
                passed=report.success, metadata=report.metadata(),
                severity=dg.AssetCheckSeverity.ERROR,
            )
        failed = [report for report in reports if not report.success]
        if failed:
            raise dg.Failure(
                description=f"[{spec.name}] validation failed, nothing was loaded: " + " | ".join(r.message() for r in failed),
                metadata={"failed_suites": [r.suite_file for r in failed]},
                allow_retries=False,
            )
        load_id = new_load_id()
        for dataset in spec.datasets:
            counts = load_raw(settings.warehouse_path, dataset.name, frames[dataset.name], dataset.replace_on, load_id)
            yield dg.MaterializeResult(
                asset_key=raw_asset_key(dataset.name),
                metadata={**counts, "load_id": load_id, "mode": settings.source_mode,
                          "landings": describe_landings(landings)},
            )

    return load_source
