"""Great Expectations 1.x, as a file data context: ``expectations/great_expectations.yml``.

The project versions its suites (``expectations/suites/``), one validation definition and one
checkpoint per suite (``expectations/validation_definitions/``, ``expectations/checkpoints/``); the
context is loaded once per process. Each load's DataFrames run their checkpoint in memory before
anything is written; the results go to the results store under the data directory (``KPI_VALIDATION_DIR``),
and ``build_data_docs``, once per publication, renders them as Data Docs, which the publication copies. dagster-ge only
supports pre-1.0 GX, so this is the glue that summarises a result for Dagster asset checks.
DataFrames are validated rather than the DuckDB tables because GX's SQL datasource on a DuckDB
file returns no metric rows (GX issues 10738 and 11579; tests/unit/test_validation.py watches it).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable

import pandas as pd

from orchestration.core.settings import DEFAULT_VALIDATION_DIR, EXPECTATIONS_DIR

SUITES_DIR = EXPECTATIONS_DIR / "suites"
# the project's one datasource: every load's DataFrame, validated whole
DATASOURCE, DATAFRAME_ASSET, WHOLE_FRAME = "kpi_warehouse", "load", "whole_load"


@dataclass(frozen=True)
class FailedExpectation:
    expectation: str
    column: str | None
    unexpected_count: int | None
    sample: list
    observed: object = None
    condition: str | None = None
    bounds: tuple | None = None
    # the failing rows as the suite identifies them (its meta "identify_rows_by"), e.g. country and year
    rows: tuple = ()

    def describe(self) -> str:
        where = f" on column {self.column!r}" if self.column else ""
        if self.bounds:
            low, high = ("-inf" if self.bounds[0] is None else self.bounds[0]), ("inf" if self.bounds[1] is None else self.bounds[1])
            where += f" (expected {low} to {high})"
        if self.condition:
            where += f" where {self.condition}"
        detail = []
        if self.unexpected_count:
            detail.append(f"{self.unexpected_count} unexpected value(s)")
        if self.rows:
            detail.append(f"rows {list(self.rows[:5])}")
        elif self.sample:
            detail.append(f"e.g. {self.sample[:5]}")
        if self.observed is not None and not self.sample:
            detail.append(f"observed {self.observed!r}")
        return f"{self.expectation}{where}" + (f": {', '.join(detail)}" if detail else "")


@dataclass(frozen=True)
class ValidationReport:
    dataset: str
    suite_file: str
    rows: int
    evaluated: int
    failures: tuple[FailedExpectation, ...]

    @property
    def success(self) -> bool:
        return not self.failures

    def message(self) -> str:
        if self.success:
            return f"{self.dataset}: all {self.evaluated} expectations of {self.suite_file} passed on {self.rows} rows"
        lines = "; ".join(failure.describe() for failure in self.failures)
        return (f"{self.dataset}: {len(self.failures)} of {self.evaluated} expectations of {self.suite_file} "
                f"failed on {self.rows} rows: {lines}")

    def metadata(self) -> dict:
        return {
            "dataset": self.dataset,
            "suite": self.suite_file,
            "rows": self.rows,
            "expectations_evaluated": self.evaluated,
            "expectations_failed": len(self.failures),
            "failures": [failure.describe() for failure in self.failures],
        }


def suite_path(dataset: str) -> Path:
    """``expectations/suites/<dataset>.json``: the suite's file in the GX project's expectations store."""
    return SUITES_DIR / f"{dataset}.json"


@lru_cache(maxsize=None)
def gx_context(validation_dir: Path):
    """The file data context ``expectations/great_expectations.yml``, loaded once per process and
    results directory; its results store and Data Docs site live under ``validation_dir``."""
    import great_expectations as gx  # deferred: importing GX costs seconds

    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    return gx.get_context(mode="file", context_root_dir=str(EXPECTATIONS_DIR),
                          runtime_environment={"kpi_validation_dir": str(validation_dir)})


def checkpoint_for(dataset: str, validation_dir: Path = DEFAULT_VALIDATION_DIR):
    """The dataset's checkpoint (``expectations/checkpoints/<dataset>.json``): its one validation
    definition binds the suite to the pandas DataFrame batch, and its result format names the rows."""
    if not suite_path(dataset).is_file():
        raise FileNotFoundError(f"no expectation suite for dataset {dataset!r} at {suite_path(dataset)}")
    return gx_context(validation_dir).checkpoints.get(dataset)


def validate_frame(dataset: str, frame: pd.DataFrame, validation_dir: Path = DEFAULT_VALIDATION_DIR,
                   parameters: dict[str, object] | None = None) -> ValidationReport:
    """Run the dataset's checkpoint on ``frame`` (``parameters``: the values of the suite's
    ``$PARAMETER`` kwargs); its result is stored under ``validation_dir``. Never raises for failed
    expectations: the caller reads ``success``."""
    result = _validate(checkpoint_for(dataset, validation_dir), frame, parameters or None)
    failures = []
    for item in result.results:
        if item.success:
            continue
        config = item.expectation_config
        outcome = item.result or {}
        if item.exception_info and item.exception_info.get("raised_exception"):
            observed = item.exception_info.get("exception_message")
        else:
            observed = outcome.get("observed_value")
        failures.append(
            FailedExpectation(
                expectation=config.type,
                column=_columns_text(config.kwargs),
                unexpected_count=outcome.get("unexpected_count"),
                sample=[_plain(v) for v in outcome.get("partial_unexpected_list") or []],
                observed=_plain(observed),
                condition=_condition_text(config.kwargs.get("row_condition")),
                bounds=(config.kwargs.get("min_value"), config.kwargs.get("max_value")) if "min_value" in config.kwargs or "max_value" in config.kwargs else None,
                rows=tuple(_plain(row) for row in outcome.get("partial_unexpected_index_list") or [] if isinstance(row, dict)),
            )
        )
    return ValidationReport(dataset, suite_path(dataset).name, len(frame), len(result.results), tuple(failures))


# A passing run's stored result needs no more than GX's BASIC format (each expectation's observed value
# and a sample of unexpected values), which costs less than the checkpoint's own format (SUMMARY,
# naming the failing rows): for the 25 suites of a full build, see ``bench/validation_formats.py``
# (1.8 s against 2.7 s, medians of 3 alternating rounds on the 2-core machine, at 0.4.1). So every run first validates in BASIC, and only a failing
# one runs the checkpoint itself, which names the rows and replaces the BASIC result in the store.
QUICK_RESULT_FORMAT = "BASIC"


def _validate(checkpoint, frame: pd.DataFrame, parameters: dict | None):
    """The suite's result on ``frame``: a BASIC pass, then, only when it fails, the checkpoint in its own
    result format under the same run id (the same key in the results store, so the detailed result
    is the one stored and rendered)."""
    from great_expectations.core.run_identifier import RunIdentifier  # deferred, as every GX import here

    run_id = RunIdentifier(run_time=dt.datetime.now(dt.timezone.utc))
    (definition,) = checkpoint.validation_definitions
    quick = definition.run(checkpoint_id=checkpoint.id, batch_parameters={"dataframe": frame},
                           expectation_parameters=parameters, result_format=QUICK_RESULT_FORMAT, run_id=run_id)
    if quick.success:
        return quick
    detailed = checkpoint.run(batch_parameters={"dataframe": frame}, expectation_parameters=parameters, run_id=run_id)
    (result,) = detailed.run_results.values()
    return result


def write_checkpoint(dataset: str, validation_dir: Path = DEFAULT_VALIDATION_DIR) -> None:
    """Add the validation definition and checkpoint of the suite ``dataset`` to the project (run once
    when adding a suite: ``python -m orchestration.check.validation <suite>``); the checkpoint's result
    format names failing rows by the suite's meta ``identify_rows_by``."""
    import great_expectations as gx

    context = gx_context(validation_dir)
    suite = context.suites.add_or_update(context.suites.get(dataset))  # a suite written by hand gets its ids
    batch = context.data_sources.get(DATASOURCE).get_asset(DATAFRAME_ASSET).get_batch_definition(WHOLE_FRAME)
    result_format = {"result_format": "SUMMARY", "partial_unexpected_count": 10}
    if suite.meta.get("identify_rows_by"):
        # a failure then names its rows (country, year, both amounts), not only the offending values
        result_format["unexpected_index_column_names"] = list(suite.meta["identify_rows_by"])
    definition = context.validation_definitions.add_or_update(gx.ValidationDefinition(name=dataset, data=batch, suite=suite))
    context.checkpoints.add_or_update(gx.Checkpoint(name=dataset, validation_definitions=[definition], actions=[],
                                                    result_format=result_format))


# Stored results (and their Data Docs pages) kept per suite: every load adds one per dataset, and each
# publication copies the site, so the store must not grow with every load for ever.
KEPT_RESULTS_PER_SUITE = 10


def build_data_docs(validation_dir: Path = DEFAULT_VALIDATION_DIR) -> Path:
    """Render the Data Docs pages of every stored result that has none yet, and the index of every
    stored result, into the site under ``validation_dir``, after removing each suite's results beyond
    its newest ``KEPT_RESULTS_PER_SUITE`` with their pages; returns the site's directory.

    Called once per publication (and by a load whose suites failed, so its docs show why), not after
    every load: rendering is the part of GX that grows with the results, and a run's loads are all
    rendered by one call. Nothing is imported or rendered when every stored result has its page.
    """
    prune_stored_results(validation_dir, KEPT_RESULTS_PER_SUITE)
    unrendered = unrendered_results(validation_dir)
    if unrendered:
        from great_expectations.data_context.types.resource_identifiers import ValidationResultIdentifier

        results_dir = validation_dir / "results"
        # a result's path is its key's tuple: <suite>/<run name>/<run time>/<batch>.json
        keys = [ValidationResultIdentifier.from_tuple(path.relative_to(results_dir).with_suffix("").parts)
                for path in unrendered]
        gx_context(validation_dir).build_data_docs(resource_identifiers=keys)
    elif not (data_docs_dir(validation_dir) / "index.html").is_file() and any((validation_dir / "results").rglob("*.json")):
        gx_context(validation_dir).build_data_docs()  # a site removed by hand: every stored result again
    return data_docs_dir(validation_dir)


def unrendered_results(validation_dir: Path) -> list[Path]:
    """The stored results (``results/<suite>/<run name>/<run time>/<batch>.json``) without their page
    (``data_docs/validations/.../<batch>.html``), oldest first."""
    results_dir, pages_dir = validation_dir / "results", data_docs_dir(validation_dir) / "validations"
    if not results_dir.is_dir():
        return []
    return sorted((path for path in results_dir.rglob("*.json")
                   if not (pages_dir / path.relative_to(results_dir)).with_suffix(".html").is_file()),
                  key=lambda path: path.relative_to(results_dir).parts[-2])


def results_beyond(result_files: Iterable[Path], results_dir: Path, keep: int) -> list[Path]:
    """The stored results (``<suite>/<run name>/<run time>/<batch>.json`` under ``results_dir``) older
    than each suite's newest ``keep``, by run time (GX names run times so that they sort in time order)."""
    by_suite: dict[str, list[Path]] = {}
    for path in result_files:
        by_suite.setdefault(path.relative_to(results_dir).parts[0], []).append(path)
    older = []
    for paths in by_suite.values():
        newest_first = sorted(paths, key=lambda path: path.relative_to(results_dir).parts[2], reverse=True)
        older += newest_first[keep:]
    return older


def prune_stored_results(validation_dir: Path, keep: int) -> None:
    results_dir = validation_dir / "results"
    pages_dir = data_docs_dir(validation_dir) / "validations"
    for result in results_beyond(results_dir.rglob("*.json"), results_dir, keep):
        page = (pages_dir / result.relative_to(results_dir)).with_suffix(".html")
        for path in (result, page):
            path.unlink(missing_ok=True)
            for directory in path.parents[:2]:  # <run time>/ and <run name>/, once empty
                if directory.is_dir() and not any(directory.iterdir()):
                    directory.rmdir()


def data_docs_dir(validation_dir: Path = DEFAULT_VALIDATION_DIR) -> Path:
    return validation_dir / "data_docs"


def _columns_text(kwargs: dict) -> str | None:
    if kwargs.get("column"):
        return kwargs["column"]
    if "column_A" in kwargs:
        return f"{kwargs['column_A']},{kwargs['column_B']}"
    return ",".join(kwargs["column_list"]) if "column_list" in kwargs else None


def _condition_text(condition) -> str | None:
    # GX 1.x turns a pandas row_condition string into a dict on the way in
    if isinstance(condition, dict):
        return condition.get("pass_through_filter") or str(condition)
    return condition


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item"):
        return value.item()
    return value if isinstance(value, (str, int, float, bool, type(None))) else str(value)


if __name__ == "__main__":
    import sys

    for name in sys.argv[1:]:
        write_checkpoint(name)
