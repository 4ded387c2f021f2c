"""Yearly partitions (data year; fiscal year for US sources) shared by loading assets and incremental dbt models."""

from __future__ import annotations

import dagster as dg

from orchestration.core.settings import FIRST_YEAR

YEARLY = dg.TimeWindowPartitionsDefinition(
    start=str(FIRST_YEAR),
    fmt="%Y",
    cron_schedule="0 0 1 1 *",
    # the current year is a partition too: US fiscal years and provisional series start before it ends
    end_offset=1,
)

# Run tag: "false" skips a source whose bytes are unchanged since it was loaded (the daily schedule);
# any other run (make run, backfills, the UI, the dagster CLI) reloads.
FORCE_TAG = "kpi/force_reload"


def year_range(context: dg.AssetExecutionContext) -> tuple[int, int]:
    """First and last year of the run's partition (range); every year when the run is unpartitioned."""
    if context.has_partition_key_range:
        key_range = context.partition_key_range
        return int(key_range.start), int(key_range.end)
    keys = YEARLY.get_partition_keys()
    return int(keys[0]), int(keys[-1])


def forced(context: dg.AssetExecutionContext) -> bool:
    # runs started from the UI or the dagster CLI reload what they are asked to; the schedule says "false"
    return context.run.tags.get(FORCE_TAG, "true").lower() == "true"


RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
PARTITION_TAG = "dagster/partition"


def run_partition_range(tags: dict[str, str]) -> tuple[int, int] | None:
    """The yearly range a run was launched for (a range, or one partition), from its tags; None when
    the run has none (e.g. only unpartitioned assets were asked for)."""
    if RANGE_START_TAG in tags and RANGE_END_TAG in tags:
        return int(tags[RANGE_START_TAG]), int(tags[RANGE_END_TAG])
    if tags.get(PARTITION_TAG, "").isdigit():
        year = int(tags[PARTITION_TAG])
        return year, year
    return None
