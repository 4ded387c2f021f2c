"""ForeignAssistance.gov reconciliation, validated by its own suite and never loaded: the API's
sector rows summed against the Country Summary, declared revisions between releases set apart."""

from __future__ import annotations

import csv
from functools import lru_cache

import pandas as pd

from orchestration.core.countries import SEEDS_DIR
from orchestration.sources.foreign_assistance.parse import SPENDING_TYPES

SECTOR_SUM_CHECK_COLUMNS = [
    "country_iso3", "fiscal_year", "transaction_type_name", "sector_sum", "country_summary_amount",
    "difference", "declared_revision", "unexplained_difference", "sector_vintage", "country_summary_vintage",
]


@lru_cache(maxsize=1)
def declared_revisions() -> dict[tuple[str, int, str], int]:
    """Revisions between releases that the team has read and declared (seed known_revisions.csv):
    (country, fiscal year, transaction type) -> sector sum minus Country Summary, in US$."""
    with open(SEEDS_DIR / "foreign_assistance" / "known_revisions.csv", newline="", encoding="utf-8") as handle:
        return {(row["country_iso3"], int(row["fiscal_year"]), row["transaction_type_name"]): int(row["difference_usd"])
                for row in csv.DictReader(handle)}


def latest_vintage(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """The rows of each key's latest vintage (the later release wins)."""
    latest = frame.groupby(keys)["vintage"].transform("max")
    return frame[frame["vintage"] == latest]


def sector_sum_check(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Per country, fiscal year and transaction type complete in both: the sector rows' sum beside the
    latest Country Summary; a declared revision is subtracted before the $10 tolerance applies."""
    sectors = frames["foreign_assistance_usg_sector_amounts"]
    summary = frames["foreign_assistance_country_summary"]
    keys = ["country_iso3", "fiscal_year", "transaction_type_name"]
    if sectors.empty or summary.empty:
        return pd.DataFrame(columns=SECTOR_SUM_CHECK_COLUMNS)
    sector_latest = latest_vintage(sectors, keys)
    sector_sums = (sector_latest[~sector_latest["is_partial_year"]]
                   .groupby(keys, as_index=False).agg(sector_sum=("current_amount", "sum"), sector_vintage=("vintage", "max")))
    summary_latest = latest_vintage(summary[summary["transaction_type_id"].isin(SPENDING_TYPES)], keys)
    summary_latest = summary_latest[~summary_latest["is_partial_year"]].rename(
        columns={"current_amount": "country_summary_amount", "vintage": "country_summary_vintage"})
    check = sector_sums.merge(summary_latest[[*keys, "country_summary_amount", "country_summary_vintage"]], on=keys, how="inner")
    revisions = declared_revisions()
    check["difference"] = check["sector_sum"] - check["country_summary_amount"]
    check["declared_revision"] = [revisions.get(key, 0) for key in check[keys].itertuples(index=False, name=None)]
    check["unexplained_difference"] = check["difference"] - check["declared_revision"]
    return check[SECTOR_SUM_CHECK_COLUMNS].astype({"sector_sum": "int64", "country_summary_amount": "int64", "difference": "int64",
                                                    "declared_revision": "int64", "unexplained_difference": "int64"})


def check_frames(frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    return {"foreign_assistance_sector_sum_check": sector_sum_check(frames)}
