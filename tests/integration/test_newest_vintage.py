"""The newest release is decided one way (dbt_project/macros/vintages.sql): by vintage_date, then the label as
a tie-break; whole releases, per key. Run through real dbt on DuckDB (``dbt show`` of the macros over
a few releases written as rows)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from orchestration.core.settings import DBT_PROJECT_DIR

pytestmark = pytest.mark.integration

# NIV-style labels: 'FY2000-FY2023' sorts after 'FY1997-FY2024' as text, but the latter covers a later
# year (dated 2024-09-30): by date it is the newer release.
NIV_DATE = "make_date(cast(right(vintage, 4) as integer), 9, 30)"
RELEASES = """
releases as (
    select * from (values
        ('HND', 'FY2000-FY2023', 2022, 10), ('HND', 'FY2000-FY2023', 2023, 11),
        ('HND', 'FY1997-FY2024', 2023, 12), ('HND', 'FY1997-FY2024', 2024, 13),
        ('GTM', 'FY2000-FY2023', 2023, 21),
        ('SLV', 'a FY1997-FY2024', 2024, 31), ('SLV', 'b FY1997-FY2024', 2024, 32)
    ) as t(country_iso3, vintage, fiscal_year, value)
),
months as (
    select * from (values ('r1', 2024, 6), ('r1', 2024, 7), ('r2', 2024, 5)) as t(vintage, fiscal_year, fiscal_month)
),
monthly as (
    select * from (values ('HND', 'r1', 5), ('HND', 'r2', 6)) as t(country_iso3, vintage, value)
),
release_dates as (
    {{ release_dates_from_coverage('months') }}
)
"""
QUERY = f"""with {RELEASES}
select 'filter' as form, country_iso3, vintage, value
from ({{{{ newest_vintage_rows('releases', ['country_iso3'], '{NIV_DATE}') }}}}) as newest
union all
select 'flag', country_iso3, vintage, value
from (
    select *, {{{{ is_newest_vintage(['country_iso3'], '{NIV_DATE}', vintage='vintage') }}}} as is_newest
    from releases
) as flagged
where is_newest
union all
select 'by coverage', country_iso3, vintage, value
from ({{{{ newest_vintage_rows('monthly', ['country_iso3'], 'release_dates.vintage_date', vintage_dates='release_dates') }}}}) as newest
"""


def test_the_newest_release_is_the_latest_vintage_date_then_the_last_label(tmp_path):
    project = tmp_path / "dbt_project"
    shutil.copytree(DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs"))
    dbt = Path(sys.executable).with_name("dbt")
    result = subprocess.run(
        [str(dbt), "--quiet", "show", "--inline", QUERY, "--output", "json", "--limit", "100",
         "--project-dir", str(project), "--profiles-dir", str(project)],
        capture_output=True, text=True, timeout=600,
        env={"PATH": "/usr/bin:/bin", "KPI_WAREHOUSE_PATH": str(tmp_path / "newest.duckdb"),
             "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"},
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    rows = {(r["form"], r["country_iso3"], r["vintage"], r["value"]) for r in json.loads(result.stdout)["show"]}
    newest = {
        # the later date wins over the label that sorts last, and the whole release comes (both its years)
        ("HND", "FY1997-FY2024", 12), ("HND", "FY1997-FY2024", 13),
        # each key on its own: GTM's only release is its newest
        ("GTM", "FY2000-FY2023", 21),
        # the same date: the label that sorts last, so a reload order never changes the answer
        ("SLV", "b FY1997-FY2024", 32),
    }
    assert {row[1:] for row in rows if row[0] == "filter"} == newest
    assert {row[1:] for row in rows if row[0] == "flag"} == newest
    # a release dated by the last fiscal month it covers (CBP): r1 covers July 2024, r2 only May
    assert {row[1:] for row in rows if row[0] == "by coverage"} == {("HND", "r1", 5)}
