"""Country names and codes, harmonised in one place for every source.

The reference lists are dbt seeds (dbt_project/seeds/countries.csv and country_aliases.csv), so
the marts' dim_country and the loaders read the same rows; edit them there.
"""

from __future__ import annotations

import csv
import unicodedata
from functools import lru_cache
from pathlib import Path

SEEDS_DIR = Path(__file__).resolve().parents[2] / "dbt_project" / "seeds"


def _read_seed(name: str) -> list[dict[str, str]]:
    with open(SEEDS_DIR / name, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@lru_cache(maxsize=1)
def countries() -> dict[str, dict[str, str]]:
    return {row["country_iso3"]: row for row in _read_seed("countries.csv")}


def known_iso3() -> frozenset[str]:
    return frozenset(countries())


@lru_cache(maxsize=1)
def iso2_to_iso3() -> dict[str, str]:
    return {row["country_iso2"]: iso3 for iso3, row in countries().items()}


def normalise_name(name: str) -> str:
    """Case-, accent- and whitespace-insensitive key for a country name as published."""
    decomposed = unicodedata.normalize("NFKD", name)
    without_accents = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(without_accents.casefold().replace("*", " ").split())


@lru_cache(maxsize=1)
def _alias_index() -> dict[str, str]:
    index = {normalise_name(row["country_name"]): iso3 for iso3, row in countries().items()}
    index.update({normalise_name(row["alias"]): row["country_iso3"] for row in _read_seed("country_aliases.csv")})
    return index


def iso3_for_name(name: str) -> str | None:
    """ISO3 of a country name as a publisher spells it, or None when the warehouse does not know it."""
    return _alias_index().get(normalise_name(name))
