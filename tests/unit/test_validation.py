from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from orchestration.config import load_settings
from orchestration.sources import worldbank
from orchestration.fetch.archive import list_landings
from orchestration.check.validation import validate_frame
from tests.conftest import SNAPSHOT_DIR

DATASET = "worldbank_indicator_values"


@pytest.fixture(scope="module")
def values() -> pd.DataFrame:
    return worldbank.SPEC.parse(list_landings(SNAPSHOT_DIR, "worldbank"), load_settings({}))[DATASET]


def test_the_real_snapshot_passes(values):
    report = validate_frame(DATASET, values)
    assert report.success, report.message()
    assert report.evaluated >= 15


def _corrupt(values, **changes):
    frame = values.copy()
    row = frame.index[(frame.country_iso3 == "HND") & (frame.indicator_id == "VC.IHR.PSRC.P5") & (frame.year == 2023)][0]
    for column, value in changes.items():
        frame.loc[row, column] = value
    return frame


def test_negative_homicide_rate_fails_naming_dataset_and_expectation(values):
    report = validate_frame(DATASET, _corrupt(values, value=-5.0))
    assert not report.success
    assert re.search(r"worldbank_indicator_values: .*expect_column_values_to_be_between on column 'value'.*-5\.0", report.message())


def test_unknown_indicator_fails(values):
    report = validate_frame(DATASET, _corrupt(values, indicator_id="VC.IHR.PSRC.XX"))
    assert [f.expectation for f in report.failures] == ["expect_column_values_to_be_in_set"]


def test_rate_above_100_fails(values):
    frame = values.copy()
    frame.loc[frame.indicator_id == "SL.UEM.TOTL.ZS", "value"] = 101.0
    assert "expect_column_values_to_be_between" in {f.expectation for f in validate_frame(DATASET, frame).failures}


def test_conflicting_values_of_one_vintage_fail_uniqueness(values):
    duplicate = _corrupt(values).iloc[[0]].assign(value=1.0)
    frame = pd.concat([values, duplicate], ignore_index=True)
    assert "expect_compound_columns_to_be_unique" in {f.expectation for f in validate_frame(DATASET, frame).failures}


def test_future_year_fails(values):
    """Promise 9: the failure names the dataset, the expectation and the column, with the value found."""
    report = validate_frame(DATASET, _corrupt(values, year=2101))
    assert not report.success
    assert {f.expectation for f in report.failures} == {"expect_column_values_to_be_between"}
    assert re.search(r"worldbank_indicator_values: .*expect_column_values_to_be_between on column 'year'.*2101", report.message())


def test_renamed_column_fails(values):
    report = validate_frame(DATASET, values.rename(columns={"value": "obs_value"}))
    assert "expect_table_columns_to_match_ordered_list" in {f.expectation for f in report.failures}


def test_each_suite_keeps_its_newest_stored_results_and_their_pages(tmp_path):
    from orchestration.check.validation import prune_stored_results

    def stored(suite: str, run_time: str) -> tuple[Path, Path]:
        result = tmp_path / "results" / suite / "__none__" / run_time / "kpi_warehouse-load.json"
        page = tmp_path / "data_docs" / "validations" / suite / "__none__" / run_time / "kpi_warehouse-load.html"
        for path in (result, page):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("{}")
        return result, page

    # run times as GX names them; written out of order, so file order is not time order
    runs = [f"20261206T05{minute:02d}07.025681Z" for minute in (7, 3, 11, 0, 9, 1, 5, 2, 10, 4, 8, 6)]
    worldbank = {run: stored("worldbank_indicators", run) for run in runs}
    cbp = [stored("cbp_sbo_encounters_monthly", run) for run in runs[:3]]
    prune_stored_results(tmp_path, keep=10)
    oldest = sorted(runs)[:2]
    for run, (result, page) in worldbank.items():
        assert result.exists() == page.exists() == (run not in oldest), run
    assert not (tmp_path / "results" / "worldbank_indicators" / "__none__" / oldest[0]).exists()  # no empty directory left
    assert all(result.exists() and page.exists() for result, page in cbp)  # another suite's count is its own


def test_data_docs_render_each_stored_result_once_and_index_them_all(values, tmp_path):
    """Loads only store their results; one build renders the pages that are missing (never a page
    again) and the index of every stored result, so a run's loads cost one build, at publication."""
    from orchestration.check.validation import build_data_docs, unrendered_results

    validate_frame(DATASET, values, tmp_path)
    validate_frame(DATASET, _corrupt(values, value=-5.0), tmp_path)
    assert len(unrendered_results(tmp_path)) == 2  # stored, not rendered, by validating
    site = build_data_docs(tmp_path)
    first_pages = sorted((site / "validations" / DATASET).rglob("*.html"))
    assert len(first_pages) == 2 and unrendered_results(tmp_path) == []
    first_pages[0].write_text("rendered before")  # a page rendered again would lose this

    validate_frame(DATASET, _corrupt(values, year=2101), tmp_path)
    build_data_docs(tmp_path)
    pages = sorted((site / "validations" / DATASET).rglob("*.html"))
    assert len(pages) == 3 and pages[:2] == first_pages
    assert first_pages[0].read_text() == "rendered before"
    assert "2101" in pages[2].read_text()
    index = (site / "index.html").read_text()
    assert all(page.parent.name in index for page in pages)  # each run time is linked from the index


def test_a_passing_run_stores_its_basic_result_and_a_failing_run_only_the_checkpoints_detailed_one(values, tmp_path):
    """Every run validates first in GX's BASIC format; only a failure runs the checkpoint's own format
    (value counts, and the suite's identifying columns for each failing row), whose result replaces the
    BASIC one under the same key: one stored result per run, the detailed one when it failed."""
    import json

    from orchestration.check.validation import QUICK_RESULT_FORMAT

    def stored_results() -> list[dict]:
        return [json.loads(path.read_text()) for path in sorted((tmp_path / "results").rglob("*.json"))]

    assert validate_frame(DATASET, values, tmp_path).success
    (passed,) = stored_results()
    assert passed["success"] and {item["expectation_config"]["type"] for item in passed["results"]}
    assert all(item["result"].get("partial_unexpected_counts") is None for item in passed["results"])
    assert QUICK_RESULT_FORMAT == "BASIC"

    assert not validate_frame(DATASET, _corrupt(values, value=-5.0), tmp_path).success
    results = stored_results()
    assert len(results) == 2
    (failed,) = [result for result in results if not result["success"]]
    failures = [item for item in failed["results"] if not item["success"]]
    assert failures and all("partial_unexpected_counts" in item["result"] for item in failures)
    assert {"value": -5.0, "count": 1} in [count for item in failures for count in item["result"]["partial_unexpected_counts"]]
