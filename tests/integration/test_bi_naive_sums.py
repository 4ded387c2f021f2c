"""The marts as a drag-and-drop BI tool reads them: a SQLAlchemy client (duckdb-engine, in its own
virtualenv, tests/clients/bi.txt) opens the published serving file, lists the tables, and for each
fact runs the query a tool makes when a user drops a measure on a chart (the measure summed, grouped
by country and year, no filter). Each sum must be the KPI's value in kpi_annual.

Which measure is which KPI comes from the published dbt docs (the ``sums_to_kpi_annual`` tests of the
dbt YAML): one declaration for the dbt test that runs on every build and for this client.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from orchestration.publish.publication import SERVING_FILE
from tests.client_envs import client_python

pytestmark = pytest.mark.integration

# Tables that hold the alternatives of a one-grain fact (another publisher, every vintage, sectors,
# one row per measure, other units): named so, and never the table a dashboard sums.
ALTERNATIVE_SUFFIXES = ("_all_sources", "_all_vintages", "_by_sector", "_by_measure", "_all_units")

BI_CLIENT = """
import json, sys
from sqlalchemy import create_engine, inspect, text

serving_file, measures = sys.argv[1], json.loads(sys.stdin.read())
engine = create_engine(f"duckdb:///{serving_file}?access_mode=read_only")
inspector = inspect(engine)
tables = inspector.get_table_names(schema="marts")
answers = []
with engine.connect() as conn:
    for measure in measures:
        table, column, year = measure["table"], measure["column"], measure["year_column"]
        offered = [c["name"] for c in inspector.get_columns(table, schema="marts")]  # the tool's list of fields
        naive = conn.execute(text(
            f"SELECT country_iso3, {year}, SUM({column}) FROM marts.{table} GROUP BY country_iso3, {year}")).fetchall()
        kpi = conn.execute(text("SELECT country_iso3, year, value FROM marts.kpi_annual WHERE kpi_id = :kpi_id"),
                           {"kpi_id": measure["kpi_id"]}).fetchall()
        answers.append({**measure, "offered": offered, "naive": [list(r) for r in naive], "kpi": [list(r) for r in kpi]})
    # the inputs-outcomes bridge: its one measure dropped on a chart split by outcome KPI
    bridge = {
        "offered": [c["name"] for c in inspector.get_columns("kpi_inputs_outcomes", schema="marts")],
        "naive": [list(r) for r in conn.execute(text(
            "SELECT country_iso3, year, outcome_kpi_id, SUM(outcome_value) FROM marts.kpi_inputs_outcomes "
            "GROUP BY country_iso3, year, outcome_kpi_id")).fetchall()],
        "kpi": [list(r) for r in conn.execute(text(
            "SELECT country_iso3, year, kpi_id, value FROM marts.kpi_annual WHERE kpi_id IN "
            "(SELECT DISTINCT outcome_kpi_id FROM marts.kpi_inputs_outcomes)")).fetchall()],
    }
print(json.dumps({"tables": tables, "answers": answers, "bridge": bridge}, default=float))
"""


def declared_measures(manifest: dict) -> list[dict]:
    """(table, measure column, KPI, year column, tolerance) of every sums_to_kpi_annual test."""
    measures = []
    for node in manifest["nodes"].values():
        metadata = node.get("test_metadata") or {}
        if node["resource_type"] == "test" and metadata.get("name") == "sums_to_kpi_annual":
            kwargs = metadata["kwargs"]
            measures.append({
                "table": node["attached_node"].split(".")[-1],
                "column": kwargs["column_name"],
                "kpi_id": kwargs["kpi_id"],
                "year_column": kwargs.get("year_column", "year"),
                "tolerance": kwargs.get("absolute_tolerance", 0),
            })
    return sorted(measures, key=lambda m: (m["table"], m["column"]))


def disagreements(answer: dict) -> list[tuple]:
    """KPI years whose naive sum is missing or differs beyond the tolerance (fact-only years, e.g. a
    fiscal year to date that kpi_annual leaves out, are allowed), as dbt's sums_to_kpi_annual."""
    naive = {(country, int(year)): value for country, year, value in answer["naive"]}
    wrong = []
    for country, year, value in answer["kpi"]:
        # with a rounding tolerance, a year without rows sums to zero (every month rounded to nothing)
        summed = naive.get((country, int(year)), 0 if answer["tolerance"] else None)
        if summed is None or abs(summed - value) > answer["tolerance"] + 1e-9 * abs(value):
            wrong.append((country, year, summed, value))
    return wrong


@pytest.fixture(scope="module")
def bi_answers(built_warehouse):
    root, _, _ = built_warehouse
    serving = root / "serving"
    measures = declared_measures(json.loads((serving / "docs" / "manifest.json").read_text()))
    result = subprocess.run([str(client_python("bi")), "-c", BI_CLIENT, str(serving / SERVING_FILE)],
                            input=json.dumps(measures), capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


def test_every_fact_a_bi_tool_lists_declares_the_kpi_its_measures_sum_to(bi_answers):
    facts = {t for t in bi_answers["tables"] if t.startswith("fct_") and not t.endswith(ALTERNATIVE_SUFFIXES)}
    declared = {answer["table"] for answer in bi_answers["answers"]}
    assert {"fct_border_encounters", "fct_us_assistance", "fct_visa_issuances", "fct_labour_market", "fct_education",
            "fct_homicides", "fct_enforcement", "fct_displacement", "fct_asylum_usa", "fct_drug_seizures"} <= facts
    assert facts - declared == set(), "facts without a measure that sums to a KPI (sums_to_kpi_annual in their YAML)"
    assert {"dim_country", "dim_kpi", "dim_period", "dim_month", "kpi_annual"} <= set(bi_answers["tables"])


def test_the_naive_sum_of_every_fact_measure_is_the_kpi(bi_answers):
    for answer in bi_answers["answers"]:
        assert answer["column"] in answer["offered"] and answer["year_column"] in answer["offered"]
        assert answer["kpi"], f"{answer['kpi_id']} has no values in kpi_annual"
        assert disagreements(answer) == [], f"SUM({answer['table']}.{answer['column']}) is not {answer['kpi_id']}"


def test_kpi_inputs_outcomes_repeats_no_measure(bi_answers):
    """Each outcome value once per country, year and KPI (its sum is the KPI), and no assistance amount
    to repeat on the rows of a category's several KPIs: the amounts are in the facts it names."""
    bridge = bi_answers["bridge"]
    assert not [c for c in bridge["offered"] if c.endswith(("_usd", "_amount"))]
    assert {"assistance_table", "outcome_kpi_id", "outcome_value"} <= set(bridge["offered"])
    naive = {(c, int(y), k): v for c, y, k, v in bridge["naive"]}
    covered = [(c, int(y), k, v) for c, y, k, v in bridge["kpi"] if (c, int(y), k) in naive]
    assert len(covered) > 100
    assert [(c, y, k, naive[(c, y, k)], v) for c, y, k, v in covered if abs(naive[(c, y, k)] - v) > 1e-9 * abs(v)] == []


def test_the_issues_two_examples_now_sum_to_the_kpi(bi_answers):
    """Honduras FY2023 encounters summed 394,766 (two publishers, breakdowns) against a KPI of 180,660;
    FY2020 assistance 633,566,299 (types, levels, vintages) against obligations of 126,496,549."""
    by_measure = {(a["table"], a["column"]): a for a in bi_answers["answers"]}

    def naive(table, column, country, year):
        return next(v for c, y, v in by_measure[(table, column)]["naive"] if (c, int(y)) == (country, year))

    assert abs(naive("fct_border_encounters", "encounter_count", "HND", 2023) - 180_660) <= 60
    assert naive("fct_us_assistance", "obligations_usd", "HND", 2020) == 126_496_549
