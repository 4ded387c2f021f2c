"""What the marts take from the sources' contracts (their SPECs) rather than from a second copy:
title, licence and cadence, written to ``meta.source_contracts`` before every dbt build and read by
``dim_kpi``. A licence is written once, in the source's package."""

from __future__ import annotations

import hashlib
import json
from typing import Iterable

from orchestration.sources.contract import SourceSpec

CONTRACT_COLUMNS = ("source_id", "source_name", "title", "licence", "cadence", "warn_after_days", "fail_after_days")


def source_contract_rows(specs: Iterable[SourceSpec]) -> list[dict]:
    return [{"source_id": spec.source_id, "source_name": spec.name, "title": spec.title, "licence": spec.licence,
             "cadence": spec.cadence.description, "warn_after_days": spec.cadence.warn_after_days,
             "fail_after_days": spec.cadence.fail_after_days} for spec in sorted(specs, key=lambda spec: spec.source_id)]


def contracts_fingerprint(specs: Iterable[SourceSpec]) -> str:
    """sha256 of what the marts take from the contracts: a change rebuilds what reads them."""
    return hashlib.sha256(json.dumps(source_contract_rows(specs), sort_keys=True).encode()).hexdigest()
