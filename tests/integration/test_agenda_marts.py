"""Issue 14 end to end: the full build of the bundled snapshot publishes the cooperation agenda's new
KPIs with the publishers' figures, their revisions, the gaps filled by the input year, per-100k
values, and a dim_kpi every report can label from. The guard of the shared marts' model lists is
checked on a copy of the dbt project."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from orchestration.sources import discover

from orchestration.core.settings import DBT_PROJECT_DIR

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def serving(built_warehouse):
    root, _, _ = built_warehouse
    with duckdb.connect(str(root / "serving" / "kpi.duckdb"), read_only=True) as conn:
        yield conn


def kpi(conn, country, kpi_id, year, column="value"):
    row = conn.execute(f"select {column} from marts.kpi_annual where country_iso3 = ? and kpi_id = ? and year = ?",
                       [country, kpi_id, year]).fetchone()
    return None if row is None else row[0]


def test_removals_and_credible_fear_from_the_august_2024_release(serving):
    assert kpi(serving, "HND", "removals", 2019) == 40_760
    assert kpi(serving, "HND", "removals", 2014) == 40_770
    assert kpi(serving, "HND", "removals", 2019, "source_vintage") == "OHSS enforcement tables 2024-08"
    assert kpi(serving, "HND", "credible_fear_referrals", 2019) == 25_940
    # the partial ("YTD") fiscal year is never published as a year
    assert kpi(serving, "HND", "removals", 2024) is None
    ytd = serving.execute("select persons, months_reported, is_partial_year from marts.fct_enforcement "
                          "where country_iso3 = 'HND' and measure = 'removals' and fiscal_year = 2024").fetchone()
    assert ytd == (43_240, 11, True)
    # Nicaragua has no removals column in the April release: its figures come from August
    assert kpi(serving, "NIC", "removals", 2023, "source_vintage") == "OHSS enforcement tables 2024-08"


def test_the_april_to_august_revisions_of_removals(serving):
    rows = dict(serving.execute(
        "select year, (previous_vintage, previous_value, vintage, value) from marts.kpi_revisions "
        "where source_id = 'dhs_ohss_enforcement' and series_id = 'removals' and country_iso3 = 'MEX' and previous_vintage is not null"
    ).fetchall())
    assert rows[2022] == ("2024-04", 56_370, "2024-08", 56_160)
    assert rows[2023] == ("2024-04", 83_750, "2024-08", 83_150)
    assert not serving.execute("select count(*) from marts.kpi_revisions where source_id = 'dhs_ohss_enforcement' "
                               "and series_id = 'removals' and country_iso3 = 'HND' and revision <> 0").fetchone()[0]


def test_displacement_by_origin(serving):
    assert kpi(serving, "HND", "asylum_seekers_by_origin", 2024) == 237_701
    assert kpi(serving, "HND", "refugees_by_origin", 2024) == 100_969
    assert kpi(serving, "HND", "idps", 2025) == 423_845
    assert kpi(serving, "HND", "idps_idmc", 2025) == 101_000  # IDMC's figure, beside UNHCR's, never mixed
    assert kpi(serving, "HND", "idps", 2014) is None  # no UNHCR row: missing, not zero
    # new applications in the USA: only years where USCIS and the courts both count persons
    assert kpi(serving, "HND", "asylum_applications_usa", 2020) is None
    assert kpi(serving, "HND", "asylum_applications_usa", 2021) == 7_073 + 12_523


def test_remittances_and_their_revisions(serving):
    assert kpi(serving, "HND", "remittances_usd", 2024) == pytest.approx(9_532_724_045.27, abs=0.01)
    hnd_2024 = serving.execute("select value from marts.kpi_revisions where series_id = 'BX.TRF.PWKR.CD.DT' "
                               "and country_iso3 = 'HND' and year = 2024 and vintage = '2025-07-01'").fetchone()[0]
    assert hnd_2024 == pytest.approx(9_532_724_045.27, abs=0.01)
    slv = serving.execute("select previous_vintage, previous_value, value from marts.kpi_revisions where series_id = "
                          "'BX.TRF.PWKR.CD.DT' and country_iso3 = 'SLV' and year = 2022 and vintage = '2025-07-01'").fetchone()
    assert slv[0] == "2023-10-26"
    assert (round(slv[1], 2), round(slv[2], 2)) == (7_692_816_875.17, 7_851_002_206.41)


def test_the_newest_homicide_vintage_with_its_revisions(serving):
    assert kpi(serving, "GTM", "homicide_rate", 2021, "source_vintage") == "2026-02-24"
    assert kpi(serving, "GTM", "homicide_rate", 2023) is not None  # only the newest vintage has 2023
    revised = serving.execute("select count(*) from marts.kpi_revisions where series_id = 'VC.IHR.PSRC.P5' and "
                              "country_iso3 = 'MEX' and vintage = '2026-02-24' and previous_vintage = '2024-02-21'").fetchone()[0]
    assert revised > 15


def test_cocaine_seized(serving):
    assert kpi(serving, "HND", "cocaine_seized_kg", 2021) == pytest.approx(17_557.9207)
    assert kpi(serving, "GTM", "cocaine_seized_kg", 2022) is None  # not reported: missing, not zero
    assert kpi(serving, "HND", "cocaine_seized_kg", 2021, "value_per_100k") is None  # an amount, not a count


def test_the_gaps_the_input_year_fills(serving):
    for country in ("HND", "GTM", "SLV", "NIC", "MEX"):
        assert kpi(serving, country, "jobs_created", 2000) is not None
        assert kpi(serving, country, "employment", 2000, "yoy_change") == pytest.approx(kpi(serving, country, "jobs_created", 2000))
    assert kpi(serving, "HND", "homicide_rate", 2000, "yoy_change") is not None
    assert kpi(serving, "HND", "visas_nonimmigrant", 2000, "yoy_change") is not None
    assert serving.execute("select min(year) from marts.kpi_annual").fetchone()[0] == 2000  # 1999 is an input only


def test_count_kpis_per_100k(serving):
    population = serving.execute("select population from marts.fct_labour_market where country_iso3 = 'HND' and year = 2019").fetchone()[0]
    assert kpi(serving, "HND", "removals", 2019, "value_per_100k") == pytest.approx(40_760 / population * 100_000)
    assert kpi(serving, "MEX", "visas_issued", 2019, "value_per_100k") is not None
    assert kpi(serving, "HND", "homicide_rate", 2019, "value_per_100k") is None  # already a rate


def test_dim_kpi_labels_every_kpi(serving):
    rows = serving.execute("select kpi_id, strategy_area, framework_kpi, publisher, licence, year_basis, measure_kind, "
                           "better_direction from marts.dim_kpi").fetchall()
    assert len(rows) == 22
    for kpi_id, area, _, publisher, licence, basis, kind, direction in rows:
        assert area and publisher and licence and basis and kind and direction, kpi_id
    # each licence is its source's own, as its package declares it (written once)
    licences = {spec.source_id: spec.licence for spec in discover()}
    for kpi_id, source_id, licence in serving.execute("select kpi_id, source_id, licence from marts.dim_kpi").fetchall():
        assert licence == licences[source_id], kpi_id
    framework = {kpi_id: words for kpi_id, _, words, *_ in rows if words}
    assert framework == {"jobs_created": "Number of jobs created annually", "visas_issued": "Number of visas issued per year",
                         "primary_completion_rate": "Increase in graduation rates",
                         "lower_secondary_completion_rate": "Increase in graduation rates", "homicide_rate": "Reduction in crime rates"}
    statuses = dict(serving.execute("select kpi_id, status from marts.kpi_scorecard where country_iso3 = 'HND'").fetchall())
    assert statuses["removals"] == "no judgement" and statuses["remittances_usd"] == "no judgement"
    assert statuses["homicide_rate"] == "improving"
    name = serving.execute("select kpi_name from marts.dim_kpi where kpi_id = 'visas_temporary_work'").fetchone()[0]
    assert "H-2R" in name


def test_a_model_tagged_but_not_listed_stops_the_build(tmp_path):
    """The shared marts' guard (macros/source_models.sql): a kpi_values model a source forgot to list."""
    project = tmp_path / "dbt_project"
    shutil.copytree(DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs"))
    (project / "models" / "intermediate" / "worldbank" / "int_worldbank__extra_values.sql").write_text(
        "{{ config(tags=['kpi_values']) }}\nselect * from {{ ref('int_worldbank__kpi_values') }}\n")
    dbt = Path(sys.executable).with_name("dbt")
    result = subprocess.run(
        [str(dbt), "compile", "--select", "kpi_annual", "--project-dir", str(project), "--profiles-dir", str(project)],
        capture_output=True, text=True, timeout=600,
        env={"PATH": "/usr/bin:/bin", "KPI_WAREHOUSE_PATH": str(tmp_path / "guard.duckdb"), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"},
    )
    assert result.returncode != 0
    assert "tagged but not listed" in result.stdout and "int_worldbank__extra_values" in result.stdout
