"""The legacy tables (deprecated in 0.3.0, removed in 0.4.0): a query written for 0.1.0 runs against
the published serving file, with the old column names, and returns the old figures.

The queries are the ones 0.1.0 documented with each fact (its dbt YAML's ``agrees_with_kpi_annual``
tests: the measure, the filter and the columns a user had to know to read a KPI from a stacked
table); in 0.1.0 each returned the KPI's ``kpi_annual`` value, which is what they must return now
from ``legacy_<table>``. The column lists are those of the 0.1.0 publication (commit 7726f43).
"""

from __future__ import annotations

import duckdb
import pytest

from orchestration.publish.publication import SERVING_FILE

pytestmark = pytest.mark.integration

# table -> its columns as 0.1.0 published them, in order
COLUMNS_OF_0_1_0 = {
    "fct_border_encounters": "citizenship_code,citizenship_kind,citizenship,fiscal_year,fiscal_month,calendar_year,"
                             "calendar_month,month_start_date,region,component,demographic,title_of_authority,"
                             "encounter_type,encounter_count,source_id,source_vintage,is_partial_year,is_rounded",
    "fct_border_encounters_monthly": "citizenship_code,citizenship_kind,fiscal_year,fiscal_month,month_start_date,region,"
                                     "component,encounter_count,encounter_count_year_earlier,change_vs_year_earlier,"
                                     "change_vs_year_earlier_pct,source_id,source_vintage,is_partial_year",
    "fct_us_assistance": "country_iso3,fiscal_year,transaction_type,aggregation_level,sector_category,usg_sector_id,sector,"
                         "current_amount,vintage,is_latest_vintage,is_partial_year,source_dataset",
    "fct_enforcement": "country_iso3,measure,fiscal_year,persons,months_reported,is_partial_year,is_rounded,source_vintage,"
                       "data_current_as_of",
    "fct_enforcement_monthly": "country_iso3,measure,fiscal_year,fiscal_month,calendar_year,calendar_month,month_start_date,"
                               "persons,persons_year_earlier,change_vs_year_earlier,is_partial_year,source_vintage",
    "fct_asylum_usa": "country_iso3,year,authority_level,authority,procedure_type,count_unit,new_applications,"
                      "other_applications,decisions_recognized,decisions_complementary_protection,decisions_rejected,"
                      "decisions_otherwise_closed,decisions_total,source_vintage",
    "fct_visa_issuances": "country_iso3,fiscal_year,visa_type,visa_class,pathway_group,issuances,visa_class_published,"
                          "source_vintage",
    "fct_labour_market": "country_iso3,year,labour_force,unemployment_rate_pct,employed_persons,jobs_created,"
                         "employment_to_population_pct,population,labour_force_vintage,unemployment_rate_vintage",
    "fct_education": "country_iso3,education_level,indicator_id,year,completion_rate_pct,previous_year_with_data,"
                     "change_pp_since_previous,source_vintage",
    "fct_displacement": "country_iso3,year,refugees,asylum_seekers,returned_refugees,idps_unhcr,returned_idps,"
                        "others_of_concern,idps_idmc,asylum_countries_with_refugees,source_vintage,idmc_vintage",
    "fct_drug_seizures": "country_iso3,year,drug_group,drug_subgroup,drug_name,kilograms,published_rows,counts_as_cocaine,"
                         "source_vintage",
    "fct_remittances": "country_iso3,year,remittances_current_usd,remittances_pct_gdp,current_usd_vintage,pct_gdp_vintage",
}

# (table, KPI, value, filter, year column, country column, tolerance) as 0.1.0's YAML documented them
QUERIES_OF_0_1_0 = [
    ("fct_border_encounters", "border_encounters", "sum(encounter_count)",
     "source_id = 'dhs_ohss_encounters' and region = 'Southwest Land Border' and not is_partial_year",
     "fiscal_year", "citizenship_code", 60),
    ("fct_us_assistance", "us_assistance_obligations", "sum(current_amount)",
     "transaction_type = 'Obligations' and aggregation_level = 'country_total' and is_latest_vintage and not is_partial_year",
     "fiscal_year", "country_iso3", 0),
    ("fct_enforcement", "removals", "sum(persons)", "measure = 'removals' and not is_partial_year",
     "fiscal_year", "country_iso3", 0),
    ("fct_visa_issuances", "visas_nonimmigrant", "sum(issuances)", "visa_type = 'NIV'", "fiscal_year", "country_iso3", 0),
    ("fct_visa_issuances", "visas_immigrant", "sum(issuances)", "visa_type = 'IV'", "fiscal_year", "country_iso3", 0),
    ("fct_displacement", "refugees_by_origin", "max(refugees)", "refugees is not null", "year", "country_iso3", 0),
    ("fct_displacement", "asylum_seekers_by_origin", "max(asylum_seekers)", "asylum_seekers is not null", "year",
     "country_iso3", 0),
    ("fct_displacement", "idps", "max(idps_unhcr)", "idps_unhcr is not null", "year", "country_iso3", 0),
    ("fct_labour_market", "employment", "max(employed_persons)", "employed_persons is not null", "year", "country_iso3", 0),
    ("fct_education", "primary_completion_rate", "max(completion_rate_pct)", "indicator_id = 'SE.PRM.CMPT.ZS'", "year",
     "country_iso3", 0),
    ("fct_remittances", "remittances_usd", "max(remittances_current_usd)", "remittances_current_usd is not null", "year",
     "country_iso3", 0),
]


@pytest.fixture(scope="module")
def serving(built_warehouse):
    root, _, _ = built_warehouse
    with duckdb.connect(str(root / "serving" / SERVING_FILE), read_only=True) as connection:
        yield connection


def test_every_legacy_table_has_its_0_1_0_columns(serving):
    tables = dict(serving.execute(
        "SELECT table_name, string_agg(column_name, ',' ORDER BY ordinal_position) FROM information_schema.columns "
        "WHERE table_schema = 'marts' AND table_name LIKE 'legacy_%' GROUP BY table_name").fetchall())
    assert {f"legacy_{table}": columns for table, columns in COLUMNS_OF_0_1_0.items()} == {
        table: columns for table, columns in tables.items() if table != "legacy_kpi_inputs_outcomes"}
    assert tables["legacy_kpi_inputs_outcomes"].split(",")[3:5] == ["obligations_current_usd", "disbursements_current_usd"]


@pytest.mark.parametrize("table, kpi_id, value, where, year, country, tolerance", QUERIES_OF_0_1_0,
                         ids=[f"{q[0]}-{q[1]}" for q in QUERIES_OF_0_1_0])
def test_a_query_written_for_0_1_0_returns_the_old_figures(serving, table, kpi_id, value, where, year, country, tolerance):
    old = dict(((c, int(y)), v) for c, y, v in serving.execute(
        f"select {country}, {year}, {value} from marts.legacy_{table} where {where} group by {country}, {year}").fetchall())
    kpi = serving.execute("select country_iso3, year, value from marts.kpi_annual where kpi_id = ?", [kpi_id]).fetchall()
    assert kpi, f"{kpi_id} has no values"
    wrong = [(c, y, old.get((c, y)), v) for c, y, v in kpi
             if old.get((c, y)) is None or abs(old[(c, y)] - v) > tolerance + 1e-9 * abs(v)]
    assert wrong == [], f"legacy_{table}: {value} where {where} is not {kpi_id}"


def test_the_issues_examples_read_the_old_way(serving):
    """The sums of issue 26 over the 0.1.0 shapes are what they were: the stacked tables are kept as they were."""
    encounters = serving.execute(
        "select sum(encounter_count) from marts.legacy_fct_border_encounters "
        "where citizenship_code = 'HND' and fiscal_year = 2023").fetchone()[0]
    assistance = serving.execute(
        "select sum(current_amount) from marts.legacy_fct_us_assistance "
        "where country_iso3 = 'HND' and fiscal_year = 2020").fetchone()[0]
    assert (encounters, assistance) == (394_766, 633_566_299)
