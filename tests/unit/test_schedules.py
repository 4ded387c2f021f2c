from __future__ import annotations

import datetime as dt

import dagster as dg
import pytest

from orchestration.platform.dbt_assets import dbt_build_args
from orchestration.cli import partition_range_tags
from orchestration.core.errors import SettingsError
from orchestration.platform.partitions import FORCE_TAG, YEARLY
from orchestration.platform.schedules import daily_run_request, revision_window
from orchestration.transform.plan import dbt_vars


def test_partitions_are_years_from_2000_to_the_current_year():
    keys = YEARLY.get_partition_keys(current_time=dt.datetime(2026, 11, 27))
    assert keys[0] == "2000" and keys[-1] == "2026" and len(keys) == 27


def test_revision_window_is_the_last_three_years_by_default(monkeypatch):
    monkeypatch.delenv("KPI_REVISION_WINDOW_YEARS", raising=False)
    assert revision_window(dt.date(2026, 11, 27)) == (2024, 2026)
    assert revision_window(dt.date(2027, 1, 2)) == (2025, 2027)
    assert revision_window(dt.date(2001, 6, 1)) == (2000, 2001)


def test_revision_window_setting(monkeypatch):
    monkeypatch.setenv("KPI_REVISION_WINDOW_YEARS", "5")
    assert revision_window(dt.date(2026, 11, 27)) == (2022, 2026)
    monkeypatch.setenv("KPI_REVISION_WINDOW_YEARS", "zero")
    with pytest.raises(SettingsError, match="KPI_REVISION_WINDOW_YEARS='zero'"):
        revision_window(dt.date(2026, 11, 27))


def test_the_schedule_requests_one_run_over_the_window(monkeypatch):
    monkeypatch.delenv("KPI_REVISION_WINDOW_YEARS", raising=False)
    from orchestration.definitions import defs

    schedule = defs.get_repository_def().get_schedule_def("kpi_daily")
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    with dg.build_schedule_context(scheduled_execution_time=dt.datetime(2026, 11, 27, 6, 0)) as context:
        [request] = schedule.evaluate_tick(context).run_requests
    assert request.run_key == "daily-2026-11-27"
    assert request.tags["dagster/asset_partition_range_start"] == "2024"
    assert request.tags["dagster/asset_partition_range_end"] == "2026"
    assert request.tags[FORCE_TAG] == "false"
    assert request.tags.items() >= daily_run_request(dt.date(2026, 11, 27)).tags.items()


def test_dbt_args_limit_incremental_models_to_the_years_to_rebuild():
    assert dbt_build_args() == ["build"]
    assert dbt_build_args(dbt_vars((2005, 2010))) == ["build", "--vars", '{"min_year": 2005, "max_year": 2010}']
    assert dbt_build_args(dbt_vars(None)) == ["build", "--vars", '{"min_year": 1, "max_year": 0}']


def test_backfill_tags_make_one_run_over_a_range():
    assert partition_range_tags(2005, 2010, force=True) == {
        "dagster/asset_partition_range_start": "2005",
        "dagster/asset_partition_range_end": "2010",
        FORCE_TAG: "true",
    }


def test_only_the_loaders_are_partitioned_and_each_backfills_in_a_single_run():
    """Dagster's asset backfill spreads partitions downstream only through partitioned assets: a
    partitioned fact behind an unpartitioned view would be left out of a UI backfill. So the loaders
    are the partitioned assets, and everything downstream covers what changed (transform_step)."""
    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    partitioned = {key for key in graph.get_all_asset_keys() if graph.get(key).partitions_def is not None}
    assert partitioned == {key for key in graph.get_all_asset_keys() if key.path[0] == "raw"}
    for key in partitioned:
        assert graph.get(key).backfill_policy == dg.BackfillPolicy.single_run(), key

