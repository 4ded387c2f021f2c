"""Which surge signals a publication alerts (orchestration/publish/surge_alerts.py): once per month, again only
when it rises to surge, never for a partial month; a month revised down is noted once, not alerted."""

from __future__ import annotations

import datetime as dt
import json

from orchestration.platform.alerts import failure_record, write_failure_record
from orchestration.publish.surge_alerts import ALERT_KIND, REVISION_KIND, earlier_records, plan, write_record

NOW = dt.datetime(2026, 12, 6, 1, 0, tzinfo=dt.timezone.utc)


def signal(level: str | None, value: int, month: str = "2025-09", partial: bool = False) -> dict:
    year, number = (int(part) for part in month.split("-"))
    return {"country_iso3": "HND", "series_id": "cbp_encounters_southwest_border",
            "series": "CBP encounters (Border Patrol and OFO), Southwest land border",
            "month_start_date": dt.date(year, number, 1), "value": value, "expected_value": 400.0,
            "ratio": value / 400.0, "score": 4.0, "level": level, "is_revised": False, "previous_release_value": None,
            "source_id": "cbp_sbo_encounters", "source_vintage": "sbo-encounters-fy22-fy25-sep",
            "is_in_alert_window": True, "is_partial_month": partial}


def publish_and_record(rows: list[dict], directory, publication_id: str) -> tuple[list[dict], list[dict]]:
    """One publication's plan, with its records written where the next publication reads them."""
    alerted, noted = earlier_records(directory)
    alerts, revisions = plan(rows, alerted, noted, publication_id, "run-1", NOW)
    for record in alerts + revisions:
        write_record(record, directory)
    return alerts, revisions


def test_a_month_is_alerted_once_and_again_only_when_it_rises_to_surge(tmp_path):
    [first], _ = publish_and_record([signal("elevated", 700)], tmp_path, "p1")
    assert first["kind"] == ALERT_KIND and first["level"] == "elevated" and "ELEVATED, 700 against an expected 400" in first["message"]
    assert publish_and_record([signal("elevated", 700)], tmp_path, "p2") == ([], [])
    [risen], _ = publish_and_record([signal("surge", 2000)], tmp_path, "p3")
    assert risen["level"] == "surge" and "up from elevated alerted with publication p1" in risen["message"]
    assert publish_and_record([signal("surge", 2000), signal("normal", 300, "2025-08")], tmp_path, "p4") == ([], [])


def test_a_partial_month_and_a_normal_month_are_not_alerted(tmp_path):
    assert publish_and_record([signal("surge", 2000, partial=True), signal("normal", 300, "2025-08"),
                               signal(None, 300, "2025-07")], tmp_path, "p1") == ([], [])


def test_a_revision_down_is_noted_once_and_not_alerted(tmp_path):
    publish_and_record([signal("surge", 2000)], tmp_path, "p1")
    alerts, [note] = publish_and_record([signal("normal", 450)], tmp_path, "p2")
    assert alerts == [] and note["kind"] == REVISION_KIND
    assert (note["value"], note["alerted_value"], note["alerted_level"], note["alerted_publication_id"]) == (450, 2000, "surge", "p1")
    assert publish_and_record([signal("normal", 450)], tmp_path, "p3") == ([], [])
    # revised down again (still under what was alerted): a new note, still no alert
    alerts, [again] = publish_and_record([signal("elevated", 900)], tmp_path, "p4")
    assert alerts == [] and again["value"] == 900


def test_failure_records_beside_the_alerts_are_told_apart_by_kind(tmp_path):
    write_failure_record(failure_record("abcdef12", "kpi_full_build", "boom", [], NOW), tmp_path)
    (tmp_path / "notes.json").write_text("[1, 2]")  # not a record of ours: ignored
    assert earlier_records(tmp_path) == ({}, {})
    [path] = tmp_path.glob("*abcdef12.json")
    assert json.loads(path.read_text())["kind"] == "run_failure"
