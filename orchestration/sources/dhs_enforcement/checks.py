"""DHS enforcement tables' reconciliations, validated by their own suites and never loaded.

* months against the fiscal-year Total row, per release, measure, year and citizenship: each cell
  is rounded to the nearest 10, so n months may differ from the rounded total by up to 5 per month
  plus 5 for the total (a month the publisher leaves empty counts as 0 here);
* the partial year: a fiscal year with fewer than 12 month rows must be labelled "YTD" and be the
  release's last year, and a year labelled "YTD" must have fewer than 12 months.
"""

from __future__ import annotations

import pandas as pd

from orchestration.sources.dhs_enforcement.parse import ANNUAL, MONTHLY

CHECK_MONTHS_VS_YEAR = "dhs_enforcement_check_months_vs_year"
CHECK_PARTIAL_YEAR = "dhs_enforcement_check_partial_year"

_KEYS = ["vintage", "measure", "fiscal_year", "citizenship_code"]


def months_vs_year(monthly: pd.DataFrame, annual: pd.DataFrame) -> pd.DataFrame:
    months = monthly.groupby(_KEYS).agg(monthly_sum=("persons", "sum"))
    years = annual.groupby(_KEYS).agg(annual_total=("persons", "sum"), months_reported=("months_reported", "max"))
    check = months.join(years, how="outer").reset_index()
    for column in ("monthly_sum", "annual_total", "months_reported"):
        check[column] = check[column].fillna(0).astype("int64")
    check["difference"] = check["monthly_sum"] - check["annual_total"]
    check["abs_difference"] = check["difference"].abs()
    check["rounding_tolerance"] = 5 * (check["months_reported"] + 1)
    return check[[*_KEYS, "monthly_sum", "annual_total", "difference", "abs_difference", "months_reported", "rounding_tolerance"]]


def partial_year(annual: pd.DataFrame) -> pd.DataFrame:
    columns = ["vintage", "measure", "fiscal_year", "months_reported", "is_partial_year", "is_last_fiscal_year",
               "label_matches_months"]
    if annual.empty:
        return pd.DataFrame({column: pd.Series(dtype="object") for column in columns})
    years = annual.groupby(["vintage", "measure", "fiscal_year"], as_index=False).agg(
        months_reported=("months_reported", "max"), is_partial_year=("is_partial_year", "max"))
    last = years.groupby(["vintage", "measure"])["fiscal_year"].transform("max")
    years["is_last_fiscal_year"] = years["fiscal_year"] == last
    years["label_matches_months"] = years["is_partial_year"] == (years["months_reported"] < 12)
    return years[columns].astype({"months_reported": "int64", "is_partial_year": bool, "is_last_fiscal_year": bool,
                                  "label_matches_months": bool})


def check_frames(frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    return {
        CHECK_MONTHS_VS_YEAR: months_vs_year(frames[MONTHLY], frames[ANNUAL]),
        CHECK_PARTIAL_YEAR: partial_year(frames[ANNUAL]),
    }
