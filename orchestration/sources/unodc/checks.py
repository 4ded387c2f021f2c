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


SEED_DRUGS_PARAMETER = "unodc_seed_drugs"


def drug_key(group: str, subgroup: str, name: str) -> str:
    return f"{group} / {subgroup} / {name}"


def drug_name_coverage(seizures: pd.DataFrame) -> pd.DataFrame:
    """One row per (group, subgroup, name) of the checked groups in the load, with its ``drug`` key;
    the suite expects every key in the seed's (the ``unodc_seed_drugs`` parameter), so its failure
    lists the names the seed lacks."""
    checked = seizures[seizures["drug_group"].isin(CHECKED_GROUPS)]
    names = sorted(set(checked[["drug_group", "drug_subgroup", "drug_name"]].itertuples(index=False, name=None)))
    return pd.DataFrame([(*name, drug_key(*name)) for name in names],
                        columns=["drug_group", "drug_subgroup", "drug_name", "drug"])


def check_frames(frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    return {CHECK_DRUG_NAMES: drug_name_coverage(frames[DATASET])}


def expectation_parameters() -> dict[str, object]:
    """The seed's checked names, as the drug-name suite reads them."""
    return {SEED_DRUGS_PARAMETER: sorted(drug_key(*name) for name in seed_drug_names() if name[0] in CHECKED_GROUPS)}
