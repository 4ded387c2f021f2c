"""Border encounters reconciliations, validated by their own suites and never loaded: the OHSS
months against the published annual figure (within the publisher's rounding), and which fiscal
years are complete in each release."""

from __future__ import annotations

import pandas as pd

from orchestration.sources.cbp.parse import CBP_MONTHLY, OHSS_ANNUAL, OHSS_MONTHLY

CHECK_MONTHLY_VS_ANNUAL = "cbp_check_ohss_monthly_vs_annual"
CHECK_YEAR_COMPLETENESS = "cbp_check_fiscal_year_completeness"


def monthly_vs_annual(monthly: pd.DataFrame, annual: pd.DataFrame) -> pd.DataFrame:
    """Per release x fiscal year x region x citizenship: the months' sum against the annual figure.

    Each published value is rounded to the nearest 10, so the sum of a year's n rounded months may
    differ from its rounded annual figure by up to 5 per month plus 5 for the annual value. A month
    (or year) the publisher does not list counts as 0 here: a count under 5 rounds to nothing, and
    that month's error is covered by the same 5 per month of the year.
    """
    keys = ["vintage", "fiscal_year", "region", "citizenship_code"]
    months = monthly.groupby(keys).agg(monthly_sum=("encounters", "sum"))
    years = annual.groupby(keys).agg(annual_total=("encounters", "sum"))
    check = months.join(years, how="outer").reset_index()
    months_in_year = monthly.groupby(["vintage", "fiscal_year"])["fiscal_month"].nunique().rename("months_in_year")
    check = check.join(months_in_year, on=["vintage", "fiscal_year"])
    for column in ("monthly_sum", "annual_total", "months_in_year"):
        check[column] = check[column].fillna(0).astype("int64")
    check["difference"] = check["monthly_sum"] - check["annual_total"]
    check["abs_difference"] = check["difference"].abs()
    check["rounding_tolerance"] = 5 * (check["months_in_year"] + 1)
    return check[keys + ["monthly_sum", "annual_total", "difference", "abs_difference", "months_in_year", "rounding_tolerance"]]


def fiscal_year_completeness(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Per dataset x release x fiscal year: the months present and whether the year is flagged partial."""
    rows = []
    for dataset in (OHSS_MONTHLY, CBP_MONTHLY):
        frame = frames.get(dataset)
        if frame is None or frame.empty:
            continue
        grouped = frame.groupby(["vintage", "fiscal_year"]).agg(
            months_present=("fiscal_month", "nunique"), is_partial_year=("is_partial_year", "max"),
            partial_flags=("is_partial_year", "nunique"))
        rows.append(grouped.reset_index().assign(dataset=dataset))
    if not rows:
        return pd.DataFrame(columns=["dataset", "vintage", "fiscal_year", "months_present", "is_partial_year", "partial_flags"])
    check = pd.concat(rows, ignore_index=True)
    check["is_partial_year"] = check["is_partial_year"].astype(bool)
    return check[["dataset", "vintage", "fiscal_year", "months_present", "is_partial_year", "partial_flags"]].astype(
        {"fiscal_year": "int64", "months_present": "int64", "partial_flags": "int64"})


def check_frames(frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    return {
        CHECK_MONTHLY_VS_ANNUAL: monthly_vs_annual(frames[OHSS_MONTHLY], frames[OHSS_ANNUAL]),
        CHECK_YEAR_COMPLETENESS: fiscal_year_completeness(frames),
    }
