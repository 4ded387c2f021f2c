"""State Department reconciliations, validated by their own suites and never loaded: each
nationality's classes against its published Grand Total, each foreign state's categories against
its Table III total, and every published class against the user-editable class seed."""

from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

import pandas as pd

from orchestration.core.countries import SEEDS_DIR
from orchestration.sources.state_dept.parse import IV_CATEGORIES, IV_DATASET, NIV_DATASET

NIV_TOTAL_CHECK = "state_dept_niv_grand_total_check"
IV_TOTAL_CHECK = "state_dept_iv_total_check"
CLASS_COVERAGE_CHECK = "state_dept_visa_class_coverage"
VISA_CLASS_SEED = SEEDS_DIR / "state_dept" / "state_dept_visa_classes.csv"


@lru_cache(maxsize=1)
def _seed_classes_cached(path: str, mtime: float) -> frozenset[tuple[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return frozenset((row["visa_type"], row["visa_class_published"]) for row in csv.DictReader(handle))


def seed_visa_classes(path: Path = VISA_CLASS_SEED) -> frozenset[tuple[str, str]]:
    """(visa_type, class as published) pairs the user-editable seed maps."""
    return _seed_classes_cached(str(path), path.stat().st_mtime)


def niv_grand_total_check(niv: pd.DataFrame) -> pd.DataFrame:
    """Per nationality and fiscal year: the published Grand Total beside the sum of its classes (the
    suite compares the two; GX's pandas expectations have no group-by, so the rows are summed here)."""
    return niv.groupby(["fiscal_year", "country_iso3", "nationality", "vintage"], as_index=False).agg(
        published_grand_total=("nationality_grand_total", "max"),
        grand_total_variants=("nationality_grand_total", "nunique"),
        classes_sum=("issuances", "sum"),
    )


def iv_total_check(iv: pd.DataFrame) -> pd.DataFrame:
    """Per foreign state and fiscal year: the published total beside the sum of its categories (the
    suite compares the two)."""
    frame = iv[["fiscal_year", "country_iso3", "foreign_state", "vintage", "total"]].rename(columns={"total": "published_total"})
    frame["categories_sum"] = iv[IV_CATEGORIES].fillna(0).sum(axis=1).astype("int64")
    return frame.reset_index(drop=True)


def visa_class_coverage(niv: pd.DataFrame, iv: pd.DataFrame, known: frozenset[tuple[str, str]]) -> pd.DataFrame:
    """One row per class in the load; ``class_missing_from_seed`` names a class the seed lacks, so
    the suite's failure lists the unknown classes instead of dropping their rows."""
    published = [("NIV", label) for label in sorted(niv["visa_class"].unique())]
    published += [("IV", category) for category in IV_CATEGORIES if category in iv and iv[category].notna().any()]
    return pd.DataFrame(
        [(visa_type, label, None if (visa_type, label) in known else label) for visa_type, label in published],
        columns=["visa_type", "visa_class_published", "class_missing_from_seed"],
    )


def check_frames(frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    niv, iv = frames[NIV_DATASET], frames[IV_DATASET]
    return {
        NIV_TOTAL_CHECK: niv_grand_total_check(niv),
        IV_TOTAL_CHECK: iv_total_check(iv),
        CLASS_COVERAGE_CHECK: visa_class_coverage(niv, iv, seed_visa_classes()),
    }
