"""The whole job, end to end: replay snapshot -> GX -> DuckDB raw -> real dbt build -> publish."""

from __future__ import annotations

import json
import shutil

import dagster as dg
import duckdb
import pytest

from orchestration.publish.publication import current_publication
from tests.conftest import SNAPSHOT_DIR, all_years, run_job, warehouse_env

pytestmark = pytest.mark.integration


def serving_value(serving_dir, country, kpi, year):
    with duckdb.connect(str(serving_dir / "kpi.duckdb"), read_only=True) as conn:
        row = conn.execute(
            "select value from marts.kpi_annual where country_iso3 = ? and kpi_id = ? and year = ?", [country, kpi, year]
        ).fetchone()
    return None if row is None else row[0]


def raw_rows(warehouse_path, table):
    with duckdb.connect(str(warehouse_path), read_only=True) as conn:
        return conn.execute(f"select * exclude (load_id, loaded_at) from raw.{table} order by all").fetchall()


@pytest.fixture(scope="module")
def built(built_warehouse):
    return built_warehouse


def test_full_build_publishes_the_acceptance_values(built):
    root, _, _ = built
    serving = root / "serving"
    assert round(serving_value(serving, "HND", "homicide_rate", 2023), 2) == 31.44
    assert round(serving_value(serving, "HND", "primary_completion_rate", 2024), 2) == 71.99
    assert serving_value(serving, "HND", "jobs_created", 2024) == pytest.approx(144_744, abs=1)
    # a year the publisher has no value for has no row, never a zero
    assert serving_value(serving, "HND", "homicide_rate", 2024) is None
    assert serving_value(serving, "GTM", "lower_secondary_completion_rate", 2020) is None


def test_marts_use_each_series_newest_vintage(built):
    root, _, _ = built
    with duckdb.connect(str(root / "serving" / "kpi.duckdb"), read_only=True) as conn:
        vintages = dict(conn.execute(
            "select country_iso3, max(source_vintage) from marts.kpi_annual where kpi_id = 'homicide_rate' group by 1"
        ).fetchall())
    assert vintages["HND"] == "2026-04-08"
    assert vintages["GTM"] == "2026-02-24"  # the Spanish all-country release of 2026-02-24 (issue 14)
    with duckdb.connect(str(root / "warehouse" / "kpi.duckdb"), read_only=True) as conn:
        kept = conn.execute(
            "select count(distinct vintage) from raw.worldbank_indicator_values "
            "where country_iso3 = 'HND' and indicator_id = 'VC.IHR.PSRC.P5' and year = 2011"
        ).fetchone()[0]
    assert kept == 3


def test_publication_has_parquet_record_and_checks(built):
    root, _, result = built
    serving = root / "serving"
    record = current_publication(serving)
    assert record["row_counts"]["kpi_annual"] > 0
    assert (serving / "parquet" / "kpi_annual.parquet").is_file()
    with duckdb.connect() as conn:
        parquet_rows = conn.execute(f"select count(*) from '{serving / 'parquet' / 'kpi_annual.parquet'}'").fetchone()[0]
    assert parquet_rows == record["row_counts"]["kpi_annual"]
    with duckdb.connect(str(serving / "kpi.duckdb"), read_only=True) as conn:
        published_id = conn.execute("select publication_id from marts.publication").fetchone()[0]
    assert published_id == record["publication_id"]
    checks = result.get_asset_check_evaluations()
    assert checks and all(check.passed for check in checks if check.severity == dg.AssetCheckSeverity.ERROR)
    # the one known revision between assistance releases is reported as a warning, by name
    warned = [check.check_name for check in checks if not check.passed]
    assert warned == ["warn_us_assistance_revisions_between_releases"]
    assert any(check.check_name == "gx_worldbank_indicator_values" for check in checks)


def test_loading_the_same_data_twice_leaves_the_same_rows(built):
    root, env, _ = built
    before = raw_rows(root / "warehouse" / "kpi.duckdb", "worldbank_indicator_values")
    result = run_job(env, *all_years(), asset_selection=[dg.AssetKey(["raw", "worldbank_indicator_values"])])
    assert result.success
    assert raw_rows(root / "warehouse" / "kpi.duckdb", "worldbank_indicator_values") == before


def test_every_country_of_origin_the_seed_knows_builds_and_publishes(tmp_path):
    """KPI_COUNTRIES may name any comparator of dbt_project/seeds/countries.csv: every source loads
    what its publisher reports for them (no rows where a publisher does not break a country out)."""
    from orchestration.core.countries import known_iso3
    from orchestration.core.settings import DONOR_COUNTRY

    countries = sorted(set(known_iso3()) - {DONOR_COUNTRY})
    result = run_job(warehouse_env(tmp_path, KPI_COUNTRIES=",".join(countries)), *all_years())
    assert result.success, [event.message for event in result.all_events if event.is_failure]
    with duckdb.connect(str(tmp_path / "serving" / "kpi.duckdb"), read_only=True) as conn:
        published = dict(conn.execute("select kpi_id, list(distinct country_iso3 order by country_iso3) "
                                      "from marts.kpi_annual group by kpi_id").fetchall())
        assert conn.execute("select value from marts.kpi_annual where kpi_id = 'cocaine_seized_kg' "
                            "and country_iso3 = 'PAN' and year = 2022").fetchone() == (96000.0,)  # the annex's total row
    # the bundled World Bank replay holds the five default countries only (its queries named them)
    assert set(published["homicide_rate"]) == {"GTM", "HND", "MEX", "NIC", "SLV"}
    assert set(published["cocaine_seized_kg"]) >= {"VEN", "COL", "PER", "CRI"}
    assert "CRI" not in published["removals"] and {"COL", "VEN", "HND"} <= set(published["removals"])  # top-ten columns only


def test_out_of_range_value_fails_the_run_and_keeps_the_publication(built, tmp_path):
    root, env, _ = built
    before = current_publication(root / "serving")
    snapshot = tmp_path / "snapshot"
    shutil.copytree(SNAPSHOT_DIR / "worldbank", snapshot / "worldbank")
    landing = next(p for p in (snapshot / "worldbank").iterdir() if "API_HND_DS2_es" in p.name)
    page = landing / "VC.IHR.PSRC.P5__HND__p001.json"
    header, rows = json.loads(page.read_text())
    next(r for r in rows if r["date"] == "2023")["value"] = -5
    _rewrite_with_manifest(landing, page, json.dumps([header, rows]).encode())

    result = run_job({**env, "KPI_SNAPSHOT_DIR": str(snapshot)}, *all_years())
    assert not result.success
    # the other sources have no landing in this snapshot and fail at once (not retried): read World Bank's failure
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE" and e.step_key == "load_worldbank")
    message = str(failure.event_specific_data.error.message) + str(failure.event_specific_data.error.cause)
    assert "worldbank_indicator_values" in message
    assert "expect_column_values_to_be_between on column 'value'" in message
    assert current_publication(root / "serving") == before
    assert round(serving_value(root / "serving", "HND", "homicide_rate", 2023), 2) == 31.44
    failed_checks = [c for c in result.get_asset_check_evaluations() if not c.passed]
    assert [c.check_name for c in failed_checks] == ["gx_worldbank_indicator_values"]


def _rewrite_with_manifest(landing, page, body):
    from orchestration.fetch.archive import sha256_bytes

    page.write_bytes(body)
    manifest_path = landing / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    for entry in manifest["entries"]:
        if entry["file"] == page.name:
            entry["sha256"] = sha256_bytes(body)
    manifest_path.write_text(json.dumps(manifest))
