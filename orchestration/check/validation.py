"""Great Expectations 1.x suites (``expectations/<source>/<dataset>.json``) run on every load's DataFrame.

dagster-ge only supports pre-1.0 GX, so this is the glue: a suite file per loaded dataset,
validated in memory before anything is written, the result summarised for Dagster asset checks.
DataFrames are validated rather than the DuckDB tables because GX's SQL datasource on a DuckDB
file returns no metric rows (GX issues 10738 and 11579; tests/unit/test_validation.py watches it).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd

from orchestration.core.settings import EXPECTATIONS_DIR


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
    """``expectations/<source>/<dataset>.json``: each source keeps its suites in its own folder."""
    matches = sorted(EXPECTATIONS_DIR.glob(f"*/{dataset}.json"))
    if len(matches) > 1:
        raise FileNotFoundError(f"several expectation suites for dataset {dataset!r}: {[str(m) for m in matches]}")
    return matches[0] if matches else EXPECTATIONS_DIR / f"{dataset}.json"


@lru_cache(maxsize=None)
def _load_suite_json(dataset: str) -> str:
    path = suite_path(dataset)
    if not path.is_file():
        raise FileNotFoundError(f"no expectation suite for dataset {dataset!r} at {path}")
    return path.read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def _batch_definition():
    import great_expectations as gx  # deferred: importing GX costs seconds

    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    context = gx.get_context(mode="ephemeral")
    try:
        from great_expectations.data_context.types.base import ProgressBarsConfig

        context.variables.progress_bars = ProgressBarsConfig(globally=False)
    except ImportError:  # pragma: no cover - only cosmetic
        pass
    asset = context.data_sources.add_pandas("kpi_warehouse").add_dataframe_asset("load")
    return asset.add_batch_definition_whole_dataframe("whole_load")


def build_suite(dataset: str):
    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    spec = json.loads(_load_suite_json(dataset))
    suite = gx.ExpectationSuite(name=spec.get("name", dataset), meta=spec.get("meta", {}))
    for expectation in spec["expectations"]:
        suite.add_expectation_configuration(
            ExpectationConfiguration(type=expectation["type"], kwargs=expectation["kwargs"], meta=expectation.get("meta", {}))
        )
    return suite


def validate_frame(dataset: str, frame: pd.DataFrame) -> ValidationReport:
    """Run the dataset's suite on ``frame``; never raises for failed expectations: the caller reads ``success``."""
    suite = build_suite(dataset)
    batch = _batch_definition().get_batch(batch_parameters={"dataframe": frame})
    result_format = {"result_format": "SUMMARY", "partial_unexpected_count": 10}
    identify = json.loads(_load_suite_json(dataset)).get("meta", {}).get("identify_rows_by")
    if identify and set(identify) <= set(frame.columns):
        # a failure then names its rows (country, year, both amounts), not only the offending values
        result_format["unexpected_index_column_names"] = identify
    result = batch.validate(suite, result_format=result_format)
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
                column=config.kwargs.get("column") or (",".join(config.kwargs["column_list"]) if "column_list" in config.kwargs else None),
                unexpected_count=outcome.get("unexpected_count"),
                sample=[_plain(v) for v in outcome.get("partial_unexpected_list") or []],
                observed=_plain(observed),
                condition=_condition_text(config.kwargs.get("row_condition")),
                bounds=(config.kwargs.get("min_value"), config.kwargs.get("max_value")) if "min_value" in config.kwargs or "max_value" in config.kwargs else None,
                rows=tuple(_plain(row) for row in outcome.get("partial_unexpected_index_list") or [] if isinstance(row, dict)),
            )
        )
    return ValidationReport(dataset, suite_path(dataset).name, len(frame), len(result.results), tuple(failures))


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
