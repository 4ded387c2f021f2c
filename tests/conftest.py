from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SNAPSHOT_DIR = REPO_ROOT / "snapshot"
COUNTRIES = ("HND", "GTM", "SLV", "NIC", "MEX")


@pytest.fixture(autouse=True, scope="session")
def _quiet_tools():
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "true")


def warehouse_env(root: Path, **overrides: str) -> dict[str, str]:
    """Settings for a warehouse entirely under ``root`` (replay of the bundled snapshot by default)."""
    env = {
        "KPI_WAREHOUSE_PATH": str(root / "warehouse" / "kpi.duckdb"),
        "KPI_SERVING_DIR": str(root / "serving"),
        "KPI_LANDING_DIR": str(root / "landing"),
        "KPI_SNAPSHOT_DIR": str(SNAPSHOT_DIR),
        "KPI_SOURCE_MODE": "replay",
        "KPI_HTTP_BACKOFF_FACTOR": "0",
        "KPI_HTTP_RETRIES": "3",
        "KPI_HTTP_TIMEOUT_SECONDS": "2",
    }
    env.update(overrides)
    return env
