"""The dbt project's YAML says what its authors wrote: a column's description written in flow style
(``{name: x, description: a, b}``) is cut at its first comma by YAML, and the rest becomes a key
dbt ignores, so the published docs and the BI catalogue show half a sentence."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from orchestration.core.settings import DBT_PROJECT_DIR

COLUMN_KEYS = {"name", "description", "data_tests", "tests", "data_type", "meta", "config", "constraints",
               "quote", "tags", "granularity"}
PROPERTY_FILES = sorted(path for part in ("models", "seeds", "snapshots") for path in (DBT_PROJECT_DIR / part).rglob("*.yml"))


def unknown_column_keys(document: dict) -> list[tuple[str, str, set[str]]]:
    found = []
    for kind in ("models", "sources", "seeds", "snapshots"):
        for node in document.get(kind) or []:
            for owner in [node, *(node.get("tables") or [])]:
                for column in owner.get("columns") or []:
                    extra = set(column) - COLUMN_KEYS
                    if extra:
                        found.append((owner["name"], column["name"], extra))
    return found


def test_a_comma_in_a_flow_style_description_is_caught():
    document = yaml.safe_load("models:\n  - name: m\n    columns:\n      - {name: c, description: one, two.}\n")
    assert unknown_column_keys(document) == [("m", "c", {"two."})]


@pytest.mark.parametrize("path", PROPERTY_FILES, ids=lambda path: str(path.relative_to(DBT_PROJECT_DIR)))
def test_every_column_entry_has_only_keys_dbt_reads(path: Path):
    assert unknown_column_keys(yaml.safe_load(path.read_text()) or {}) == []
