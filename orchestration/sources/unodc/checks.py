"""UNODC reconciliation, validated by its own suite and never loaded: every cocaine-type drug name
in the load is in the seed ``unodc_drug_names`` (which says whether it counts towards
cocaine_seized_kg), so a new name cannot silently enter or leave the KPI's sum."""

from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

import pandas as pd

from orchestration.core.countries import SEEDS_DIR
from orchestration.sources.unodc.parse import DATASET

CHECK_DRUG_NAMES = "unodc_check_drug_names"
DRUG_NAME_SEED = SEEDS_DIR / "unodc" / "unodc_drug_names.csv"
CHECKED_GROUPS = ("Cocaine-type",)  # the drug groups a KPI is summed from


@lru_cache(maxsize=4)
def _seed_names(path: str, mtime: float) -> frozenset[tuple[str, str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return frozenset((row["drug_group"], row["drug_subgroup"], row["drug_name"]) for row in csv.DictReader(handle))


def seed_drug_names(path: Path = DRUG_NAME_SEED) -> frozenset[tuple[str, str, str]]:
    return _seed_names(str(path), path.stat().st_mtime)


def drug_name_coverage(seizures: pd.DataFrame, known: frozenset[tuple[str, str, str]]) -> pd.DataFrame:
    """One row per (group, subgroup, name) of the checked groups in the load; ``name_missing_from_seed``
    holds a name the seed lacks, so the suite's failure lists it."""
    checked = seizures[seizures["drug_group"].isin(CHECKED_GROUPS)]
    names = sorted(set(checked[["drug_group", "drug_subgroup", "drug_name"]].itertuples(index=False, name=None)))
    return pd.DataFrame([(*name, None if name in known else name[2]) for name in names],
                        columns=["drug_group", "drug_subgroup", "drug_name", "name_missing_from_seed"])


def check_frames(frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    return {CHECK_DRUG_NAMES: drug_name_coverage(frames[DATASET], seed_drug_names())}
