"""One loading asset per source, built from its SourceSpec: fetch (or replay) -> parse -> validate -> load.

Validation runs on the parsed DataFrames before anything is written, as blocking asset checks: a
failed suite fails the step, so nothing downstream runs and the raw tables keep the last good load.
"""


import dagster as dg

from orchestration.errors import SourceFormatError
from orchestration.partitions import YEARLY, forced, year_range
from orchestration.settings import Settings
from orchestration.sources.base import SourceSpec, with_input_year
from orchestration.transport import acquire_landings, describe_landings, landings_fingerprint
from orchestration.validation import validate_frame
from orchestration.warehouse import RawLoad, load_source, loaded_unchanged, new_load_id

RAW_PREFIX = "raw"
RAW_GROUP = "raw"
WAREHOUSE_POOL = "duckdb_warehouse_writer"


def raw_asset_key(dataset: str) -> dg.AssetKey:
    return dg.AssetKey([RAW_PREFIX, dataset])


def suite_check_name(suite: str) -> str:
    return f"gx_{suite}"


def check_specs_for(spec: SourceSpec) -> list[dg.AssetCheckSpec]:
    """One blocking check per loaded dataset's suite; reconciliation suites hang on the first dataset."""
    checks = [
        dg.AssetCheckSpec(suite_check_name(dataset.name), asset=raw_asset_key(dataset.name), blocking=True,
                          description=f"Great Expectations suite expectations/{spec.name}/{dataset.name}.json on the load")
        for dataset in spec.datasets
    ]
    checks += [
        dg.AssetCheckSpec(suite_check_name(suite), asset=raw_asset_key(spec.datasets[0].name), blocking=True,
                          description=f"Great Expectations suite expectations/{spec.name}/{suite}.json (reconciliation)")
        for suite in spec.check_suites
    ]
    return checks


def _in_years(frame, year_column: str | None, years: tuple[int, int]):
    if year_column is None:
        return frame
    return frame[frame[year_column].between(years[0], years[1])].reset_index(drop=True)


def _check_owner(spec: SourceSpec, suite: str) -> str:
    return suite if suite in {dataset.name for dataset in spec.datasets} else spec.datasets[0].name


def _checks_not_run(spec: SourceSpec, reason: str, only: list[str] | None = None):
    """Results for suites that had nothing new to validate (every declared check must report)."""
    suites = only if only is not None else [*(dataset.name for dataset in spec.datasets), *spec.check_suites]
    for suite in suites:
        yield dg.AssetCheckResult(asset_key=raw_asset_key(_check_owner(spec, suite)), check_name=suite_check_name(suite),
                                  passed=True, metadata={"evaluated": False, "reason": reason})


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
        partitions_def=YEARLY,
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool=WAREHOUSE_POOL,
        retry_policy=dg.RetryPolicy(max_retries=1, delay=30, backoff=dg.Backoff.EXPONENTIAL),
    )
    def load(context: dg.AssetExecutionContext):
        settings = Settings.from_env()
        years = with_input_year(year_range(context), settings.first_year)  # the first partition loads the input year too
        landings = acquire_landings(
            spec.name, settings.source_mode, settings.snapshot_dir, settings.landing_dir,
            lambda fetcher: spec.fetch(fetcher, settings),
            base_url=getattr(settings, spec.base_url_setting), licence=spec.licence,
            timeout_seconds=settings.http_timeout_seconds, retries=settings.http_retries,
            backoff_factor=settings.http_backoff_factor,
        )
        fingerprint = landings_fingerprint(landings)
        unchanged_since = loaded_unchanged(settings.warehouse_path, spec.name, fingerprint, years)
        if unchanged_since and not forced(context):
            # same bytes as an earlier load of these years: nothing to parse, load or rebuild
            reason = f"unchanged since load {unchanged_since} (landings sha256 {fingerprint[:12]}), which passed this suite"
            context.log.info(f"{spec.name}: {reason}; nothing parsed, loaded or rebuilt")
            yield from _checks_not_run(spec, reason)
            return
        context.log.info(f"{spec.name}: parsing {len(landings)} landing(s) for {years[0]}-{years[1]} ({settings.source_mode} mode)")
        try:
            parsed = spec.parse(landings, settings)
        except SourceFormatError as exc:
            # bad bytes stay bad: retrying would only repeat the failure (network faults do retry)
            raise dg.Failure(description=str(exc), allow_retries=False) from exc
        frames = {dataset.name: _in_years(parsed[dataset.name], dataset.year_column, years) for dataset in spec.datasets}
        check_frames = spec.check_frames(frames)
        if set(check_frames) != set(spec.check_suites):
            raise RuntimeError(f"{spec.name}: check_frames returned {sorted(check_frames)}, SPEC.check_suites declares {sorted(spec.check_suites)}")
        # a range of years the publisher has nothing for (e.g. the current year) is empty, not invalid
        to_validate = {name: frame for name, frame in {**frames, **check_frames}.items() if len(frame)}
        reports = [validate_frame(name, frame) for name, frame in to_validate.items()]
        empty = [name for name in (*frames, *check_frames) if name not in to_validate]
        yield from _checks_not_run(spec, f"no rows for {years[0]}-{years[1]}: nothing to validate", only=empty)
        for report in reports:
            yield dg.AssetCheckResult(
                asset_key=raw_asset_key(_check_owner(spec, report.dataset)), check_name=suite_check_name(report.dataset),
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
        counts = load_source(
            settings.warehouse_path, spec.name,
            [RawLoad(dataset.name, frames[dataset.name], dataset.replace_on, dataset.year_column) for dataset in spec.datasets],
            years, load_id, fingerprint,
        )
        for dataset in spec.datasets:
            yield dg.MaterializeResult(
                asset_key=raw_asset_key(dataset.name),
                metadata={**counts[dataset.name], "load_id": load_id, "mode": settings.source_mode, "years": f"{years[0]}-{years[1]}",
                          "landings_sha256": fingerprint, "landings": describe_landings(landings)},
            )

    return load
