"""Surge alerts: a publication that brings a month at ``surge`` (or a move to ``elevated``) tells someone.

After a publication is switched in, its ``marts.surge_signals`` is read from the published copy and
compared with the alerts already raised. A flagged month that was not alerted before, or that rose
from elevated to surge, is alerted: a JSON record ``kind: surge_alert`` written beside the failure
records (``KPI_FAILURES_DIR``), posted to ``KPI_ALERT_WEBHOOK_URL`` when one is set, and shown in the
Dagster UI as an observation of the ``surge_signals`` asset by the publishing step. A month that a
later release revises down under what was alerted is noted once (``kind: surge_revision``, written
and shown, never posted): it is not alerted again.

The records are the state: "alerted before" means a ``surge_alert`` record for that country, series
and month is in the directory. So the state survives rebuilding or replacing the warehouse (a full
build does not alert every month again) and is the same for the DuckDB and PostgreSQL engines.
Deleting a record lets that month be alerted again. Only the newest ``alert_window_months`` months of
each series are alerted (``surge_signals.is_in_alert_window``): the flagged months of FY2014 are
history, not news, when a warehouse is first built. Partial months are never alerted.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import requests

ALERT_KIND = "surge_alert"
REVISION_KIND = "surge_revision"
LEVEL_RANK = {None: 0, "normal": 0, "elevated": 1, "surge": 2}
FLAGGED = ("elevated", "surge")

SIGNALS_QUERY = """
SELECT country_iso3, series_id, series, month_start_date, value, expected_value, ratio, score, level,
       is_revised, previous_release_value, source_id, source_vintage, is_in_alert_window, is_partial_month
FROM marts.surge_signals
WHERE is_in_alert_window
ORDER BY series_id, country_iso3, month_start_date
"""


def month_key(country_iso3: str, series_id: str, month: str) -> str:
    return f"{country_iso3}|{series_id}|{month}"


@dataclass(frozen=True)
class Outcome:
    alerts: list[dict]      # new surge_alert records (written, and posted when a webhook is set)
    revisions: list[dict]   # new surge_revision records (written, not posted)
    paths: list[Path]


def read_signals(serving_file: Path) -> list[dict]:
    """The alert window's rows of a published copy's surge_signals (empty when it has none)."""
    with duckdb.connect(str(serving_file), read_only=True) as connection:
        present = connection.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'marts' AND table_name = 'surge_signals'"
        ).fetchone()[0]
        if not present:
            return []
        cursor = connection.execute(SIGNALS_QUERY)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]


def earlier_records(directory: Path) -> tuple[dict[str, dict], dict[str, list[dict]]]:
    """(the highest alert of each month, the revision notes of each month) among the records in ``directory``."""
    alerted: dict[str, dict] = {}
    noted: dict[str, list[dict]] = {}
    if not directory.is_dir():
        return alerted, noted
    for path in sorted(directory.glob("*.json")):
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            continue  # not ours, or half-written by something else: never a reason to fail a publication
        if not isinstance(record, dict) or record.get("kind") not in (ALERT_KIND, REVISION_KIND):
            continue
        key = month_key(record["country_iso3"], record["series_id"], record["month"])
        if record["kind"] == ALERT_KIND:
            if key not in alerted or LEVEL_RANK[record["level"]] >= LEVEL_RANK[alerted[key]["level"]]:
                alerted[key] = record
        else:
            noted.setdefault(key, []).append(record)
    return alerted, noted


def _describe(row: dict) -> str:
    expected = "–" if row["expected_value"] is None else f"{row['expected_value']:,.0f}"
    ratio = "" if row["ratio"] is None else f", {row['ratio']:.1f}x"
    return f"{row['value']:,} against an expected {expected}{ratio}"


def plan(rows: list[dict], alerted: dict[str, dict], noted: dict[str, list[dict]], publication_id: str,
         run_id: str | None, now: dt.datetime) -> tuple[list[dict], list[dict]]:
    """The new alerts and revision notes for the signals ``rows`` of a publication (pure: unit-tested)."""
    alerts, revisions = [], []
    for row in rows:
        month = row["month_start_date"].strftime("%Y-%m")
        key = month_key(row["country_iso3"], row["series_id"], month)
        before = alerted.get(key)
        base = {
            "country_iso3": row["country_iso3"], "series_id": row["series_id"], "series": row["series"], "month": month,
            "level": row["level"], "value": row["value"], "expected_value": row["expected_value"], "ratio": row["ratio"],
            "score": row["score"], "is_revised": bool(row["is_revised"]), "source_id": row["source_id"],
            "source_vintage": row["source_vintage"], "publication_id": publication_id, "run_id": run_id,
        }
        if before is not None and row["value"] < before["value"]:
            if not any(note["value"] == row["value"] for note in noted.get(key, [])):
                revisions.append({"kind": REVISION_KIND, "noted_at": now.isoformat(timespec="seconds"), **base,
                                  "alerted_level": before["level"], "alerted_value": before["value"],
                                  "alerted_publication_id": before["publication_id"],
                                  "message": f"{row['country_iso3']} {row['series']} {month} revised down to "
                                             f"{row['value']:,} ({row['level']}) from the {before['value']:,} "
                                             f"({before['level']}) alerted with publication {before['publication_id']}; "
                                             "not alerted again."})
            continue
        if row["level"] not in FLAGGED or row["is_partial_month"]:
            continue
        if before is not None and LEVEL_RANK[row["level"]] <= LEVEL_RANK[before["level"]]:
            continue  # alerted once: a month is alerted again only when it rises from elevated to surge
        escalated = f" (up from {before['level']} alerted with publication {before['publication_id']})" if before else ""
        alerts.append({"kind": ALERT_KIND, "alerted_at": now.isoformat(timespec="seconds"), **base,
                       "message": f"{row['country_iso3']} {row['series']} {month}: {row['level'].upper()}{escalated}, "
                                  f"{_describe(row)} (release {row['source_vintage']}, publication {publication_id})."})
    return alerts, revisions


def write_record(record: dict, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    stamp = record.get("alerted_at") or record["noted_at"]
    path = directory / (f"{stamp[:19].replace(':', '')}-{record['kind']}-{record['country_iso3']}-"
                        f"{record['series_id']}-{record['month']}-{record['level']}.json")
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(json.dumps(record, indent=2, default=str))
    partial.replace(path)  # a reader (or the next publication) sees a whole record or none
    return path


def post_alert(record: dict, url: str, timeout_seconds: float = 10) -> int:
    response = requests.post(url, json={"text": f"KPI warehouse surge alert: {record['message']}", "kind": record["kind"],
                                        "record": record}, timeout=timeout_seconds)
    return response.status_code


def raise_alerts(serving_file: Path, directory: Path, publication_id: str, run_id: str | None,
                 webhook_url: str | None, log: Callable[[str], None] = print) -> Outcome:
    """Alert what the publication in ``serving_file`` brings that was not alerted before (module docstring)."""
    alerted, noted = earlier_records(directory)
    alerts, revisions = plan(read_signals(serving_file), alerted, noted, publication_id, run_id,
                             dt.datetime.now(dt.timezone.utc))
    paths = []
    for record in alerts + revisions:
        paths.append(write_record(record, directory))
        log(record["message"])
    for record in alerts:
        if not webhook_url:
            continue
        try:
            log(f"surge alert posted to the alert webhook: HTTP {post_alert(record, webhook_url)}")
        except requests.RequestException as exc:
            # the URL is a secret: report the failure's kind, never the URL; the record is written either way
            log(f"surge alert post to the alert webhook failed: {type(exc).__name__}")
    return Outcome(alerts, revisions, paths)
