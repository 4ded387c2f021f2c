"""The loading half of the code location: every source's asset and the load job, without dbt.

``orchestration.definitions`` builds the whole code location from these. A load-only run (the
daily schedule's, and ``make daily`` on a day when nothing changed) executes them from
``load_definitions``, so it never imports dagster-dbt and dbt: about 4 s of a 10 s no-change run.
"""

from __future__ import annotations

import dagster as dg

from orchestration.platform.source_assets import RAW_GROUP, build_source_asset
from orchestration.platform.progress_log import concise_progress_logger
from orchestration.platform.resources import build_resources
from orchestration.sources import discover

SOURCES = discover()  # every package under orchestration/sources
LOAD_JOB_NAME = "kpi_load"

source_assets = [build_source_asset(spec) for spec in SOURCES]

# The daily path is two runs, so that an unchanged source costs nothing: the schedule loads (a
# source whose bytes did not change materializes nothing), and only when a load changed something
# does the sensor start the transform-and-publish run.
load_job = dg.define_asset_job(
    LOAD_JOB_NAME,
    selection=dg.AssetSelection.groups(RAW_GROUP),
    description="Fetch, validate and load every source; unchanged sources are skipped.",
)



def build_load_definitions(resources: dict | None = None) -> dg.Definitions:
    """The loading half with ``resources`` (default: ``build_resources()``), as ``build_definitions``."""
    return dg.Definitions(
        assets=source_assets,
        jobs=[load_job],
        executor=dg.in_process_executor,
        loggers={"concise": concise_progress_logger},
        resources=build_resources() if resources is None else resources,
    )
