"""Each reconciliation lives at the one layer that can see it (issue 23): a file's own totals in GX
before the load (tests/unit/test_state_dept.py, test_cbp.py, test_dhs_enforcement.py, test_unhcr.py
break one cell of the real files), agreement between two files in dbt after. Here: the cross-file
dbt test is broken by one cell of the loaded data and fails; the same copy unbroken passes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from orchestration.core.settings import DBT_PROJECT_DIR

pytestmark = pytest.mark.integration

SECTOR_SUMS_TEST = "assert_us_assistance_sector_sums_match_country_summary"


def dbt_test(warehouse: Path, selection: str, target: Path) -> subprocess.CompletedProcess:
    """``dbt test`` of one test on ``warehouse`` (the real dbt, in its own process)."""
    dbt = Path(sys.executable).with_name("dbt")
    env = {**os.environ, "KPI_WAREHOUSE_PATH": str(warehouse), "KPI_DBT_TARGET": "duckdb", "DBT_USE_COLORS": "false"}
    return subprocess.run([str(dbt), "test", "--select", selection, "--project-dir", str(DBT_PROJECT_DIR),
                           "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", str(target), "--log-path", str(target)],
                          env=env, capture_output=True, text=True, timeout=600)


def test_a_sector_row_off_by_a_thousand_dollars_fails_the_dbt_reconciliation(built_warehouse, tmp_path):
    """One USG-sector amount of the API (HND, FY2010 obligations, its latest release) raised by $1,000:
    the sector rows no longer sum to the Country Summary, another file."""
    root, _, _ = built_warehouse
    warehouse = tmp_path / "kpi.duckdb"
    shutil.copyfile(root / "warehouse" / "kpi.duckdb", warehouse)

    unbroken = dbt_test(warehouse, SECTOR_SUMS_TEST, tmp_path / "target-unbroken")
    assert unbroken.returncode == 0, unbroken.stdout[-3000:]

    with duckdb.connect(str(warehouse)) as connection:
        changed = connection.execute("""
            update raw.foreign_assistance_usg_sector_amounts set current_amount = current_amount + 1000
            where rowid = (select min(rowid) from raw.foreign_assistance_usg_sector_amounts
                           where country_iso3 = 'HND' and fiscal_year = 2010 and transaction_type_name = 'Obligations'
                             and vintage = (select max(vintage) from raw.foreign_assistance_usg_sector_amounts))
            returning 1""").fetchall()
    assert len(changed) == 1
    broken = dbt_test(warehouse, SECTOR_SUMS_TEST, tmp_path / "target-broken")
    assert broken.returncode == 1
    assert f"Failure in test {SECTOR_SUMS_TEST}" in broken.stdout and "Got 1 result" in broken.stdout, broken.stdout[-3000:]
