"""Print the naive sums a BI tool makes over every fact, before (the 0.1.0 shape, published as
``legacy_<fact>`` by 0.3.x; run it on a 0.3.x publication for that column, 0.4.0 removed them) and
now, against the KPI in kpi_annual.

For each measure that dbt's ``sums_to_kpi_annual`` declares (the published dbt docs' manifest), the
query a drag-and-drop tool makes (the measure summed, grouped by country and year, no filter) runs
over the fact and over its 0.1.0 shape with the 0.1.0 column; a country-year agrees when the sum is
the KPI's value (within the test's tolerance). Usage, after ``make run``:

    .venv/bin/python scripts/bi_naive_sums.py [data/serving]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import duckdb

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from tests.integration.test_bi_naive_sums import declared_measures  # noqa: E402

# (fact, measure) -> (0.1.0 country column, 0.1.0 measure column) where 0.1.0 named them otherwise
COLUMNS_OF_0_1_0 = {
    ("fct_asylum_usa", "new_application_count"): ("country_iso3", "new_applications"),
    ("fct_border_encounters", "encounter_count"): ("citizenship_code", "encounter_count"),
    ("fct_border_encounters_monthly", "encounter_count"): ("citizenship_code", "encounter_count"),
    ("fct_displacement", "asylum_seeker_count"): ("country_iso3", "asylum_seekers"),
    ("fct_displacement", "idp_idmc_count"): ("country_iso3", "idps_idmc"),
    ("fct_displacement", "idp_unhcr_count"): ("country_iso3", "idps_unhcr"),
    ("fct_displacement", "refugee_count"): ("country_iso3", "refugees"),
    ("fct_drug_seizures", "cocaine_seized_kg"): ("country_iso3", "kilograms"),
    ("fct_education", "lower_secondary_completion_rate_pct"): ("country_iso3", "completion_rate_pct"),
    ("fct_education", "primary_completion_rate_pct"): ("country_iso3", "completion_rate_pct"),
    ("fct_enforcement", "credible_fear_referral_count"): ("country_iso3", "persons"),
    ("fct_enforcement", "removal_count"): ("country_iso3", "persons"),
    ("fct_enforcement_monthly", "credible_fear_referral_count"): ("country_iso3", "persons"),
    ("fct_enforcement_monthly", "removal_count"): ("country_iso3", "persons"),
    ("fct_labour_market", "employed_count"): ("country_iso3", "employed_persons"),
    ("fct_labour_market", "jobs_created_count"): ("country_iso3", "jobs_created"),
    ("fct_us_assistance", "disbursements_usd"): ("country_iso3", "current_amount"),
    ("fct_us_assistance", "obligations_usd"): ("country_iso3", "current_amount"),
    ("fct_visa_issuances", "visa_count"): ("country_iso3", "issuances"),
}


def naive(connection, table: str, country: str, column: str, year: str) -> dict:
    rows = connection.execute(
        f'SELECT {country}, {year}, SUM({column}) FROM marts."{table}" GROUP BY {country}, {year}').fetchall()
    return {(c, int(y)): v for c, y, v in rows if y is not None}


def main(serving: Path) -> None:
    measures = declared_measures(json.loads((serving / "docs" / "manifest.json").read_text()))
    print(f"{'fact.measure':58} {'KPI':30} {'agree 0.1.0':>12} {'agree now':>10}   HND, latest year: 0.1.0 / now / KPI")
    with duckdb.connect(str(serving / "kpi.duckdb"), read_only=True) as connection:
        tables = {r[0] for r in connection.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts'").fetchall()}
        for m in measures:
            kpi = {(c, int(y)): v for c, y, v in connection.execute(
                "SELECT country_iso3, year, value FROM marts.kpi_annual WHERE kpi_id = ?", [m["kpi_id"]]).fetchall()}
            now = naive(connection, m["table"], "country_iso3", m["column"], m["year_column"])
            old_country, old_column = COLUMNS_OF_0_1_0.get((m["table"], m["column"]), ("country_iso3", m["column"]))
            # a fact whose 0.1.0 shape is unchanged (no legacy table) is its own 0.1.0 shape; a reshaped
            # one has its 0.1.0 shape only in a 0.3.x publication (0.4.0 removed the legacy tables)
            if f"legacy_{m['table']}" in tables:
                before = naive(connection, f"legacy_{m['table']}", old_country, old_column, m["year_column"])
            elif (m["table"], m["column"]) in COLUMNS_OF_0_1_0:
                before = {}
            else:
                before = naive(connection, m["table"], old_country, old_column, m["year_column"])

            def agree(sums: dict) -> int:
                return sum(1 for key, value in kpi.items()
                           if sums.get(key) is not None and abs(sums[key] - value) <= m["tolerance"] + 1e-9 * abs(value))

            hnd_years = sorted(y for c, y in kpi if c == "HND")
            example = ""
            if hnd_years:
                key = ("HND", hnd_years[-1])
                example = f"{key[1]}: {before.get(key, '-')} / {now.get(key)} / {kpi[key]}"
            shown_before = f"{agree(before)}/{len(kpi)}"
            print(f"{m['table'] + '.' + m['column']:58} {m['kpi_id']:30} {shown_before:>12} "
                  f"{str(agree(now)) + '/' + str(len(kpi)):>10}   {example}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else REPO_ROOT / "data" / "serving")
