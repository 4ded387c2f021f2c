"""The crisis protocols' early warning (issue 28): marts.surge_signals on the real history, the alerts
a publication raises for a new month that surges (posted once to a real local webhook receiver), a
revision that lowers an alerted month, and the report's crisis panel."""

from __future__ import annotations

import json
import re
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration.publish.publication import current_publication
from orchestration.publish.surge_alerts import ALERT_KIND, REVISION_KIND
from scripts.backtest_surge_signals import EPISODES, evaluate, month_number, read_signals, report
from tests.conftest import copy_of_built, run_job
from tests.integration.test_partitions import daily
from tests.releases import cbp_release_with_september

pytestmark = pytest.mark.integration
WINDOW = (2024, 2026)
CBP_SERIES = "cbp_encounters_southwest_border"


def query(serving_file: Path, sql: str, parameters=()) -> list[tuple]:
    with duckdb.connect(str(serving_file), read_only=True) as conn:
        return conn.execute(sql, list(parameters)).fetchall()


def test_the_history_flags_the_surge_episodes_early_and_keeps_quiet_years_quiet(built_warehouse):
    root, _, _ = built_warehouse
    serving_file = root / "first_publication" / "kpi.duckdb"
    results, false_alarms, assessed = evaluate(read_signals(serving_file))
    found = {(r.episode.country_iso3, r.episode.name): r for r in results}
    # the family-unit surge of 2018-2019 and the 2021 surge: flagged in every country, two months or more before the peak
    for (country, name), result in found.items():
        if name in ("2018-2019 family units", "2021 Southwest border", "2021-2022 Nicaraguans"):
            assert result.hit and result.lead_months >= 2, (country, name, result)
    # 2014: Honduras and Guatemala flagged half a year before the June peak (the White House memorandum of 2 June 2014)
    assert found[("HND", "2014 unaccompanied children")].first_flag == month_number("2013-12")
    assert found[("GTM", "2014 unaccompanied children")].lead_months >= 6
    assert sum(r.hit for r in results) >= 15 and len(results) == len(EPISODES) == 18
    # quiet years stay quiet: no flag outside an episode in 2008, 2010, 2015, 2022 or 2024, in any country
    for country, months in false_alarms.items():
        assert not {m // 12 for m in months} & {2008, 2010, 2015, 2022, 2024}, (country, months)
    assert sum(len(months) for months in false_alarms.values()) <= 35
    assert all(count > 200 for count in assessed.values())
    assert "| HND | 2018-2019 family units | 2019-05 (42,270) | 2019-02 | 3 |" in report(read_signals(serving_file))


def test_levels_partial_and_revised_months_on_the_real_releases(built_warehouse):
    root, _, _ = built_warehouse
    serving_file = root / "first_publication" / "kpi.duckdb"
    levels = dict(query(serving_file, "select coalesce(level, 'not assessed'), count(*) from marts.surge_signals group by 1"))
    assert set(levels) == {"normal", "elevated", "surge", "not assessed"}
    # the first years of a series have no seasonal baseline: not assessed, never 'normal'
    assert query(serving_file, "select count(*) from marts.surge_signals where month_start_date < date '2002-10-01' "
                               "and level is not null") == [(0,)]
    # the DHS tables of 2024-08 revised months the 2024-04 release had published: marked, with the earlier value
    revised = query(serving_file, "select series_id, value, previous_release_value, previous_release_vintage, source_vintage "
                                  "from marts.surge_signals where is_revised")
    assert revised and all(v != before and earlier == "2024-04" and vintage == "2024-08"
                           for _, v, before, earlier, vintage in revised)
    assert {series for series, *_ in revised} <= {"removals", "ice_removals_and_returns", "credible_fear_referrals"}
    # every release here is current to the end of its last month: no partial month
    assert query(serving_file, "select count(*) from marts.surge_signals where is_partial_month") == [(0,)]


def test_the_report_opens_with_the_crisis_panel_and_shades_the_flagged_months(built_warehouse):
    root, _, _ = built_warehouse
    page = (root / "first_publication" / "kpi_report.html").read_text()
    assert page.index('id="crisis-panel"') < page.index("<h2>The framework's four KPIs</h2>")
    series = query(root / "first_publication" / "kpi.duckdb", "select distinct series_id from marts.surge_signals")
    assert sorted(re.findall(r'<tr data-series="([a-z_]+)">', page)) == sorted(s for (s,) in series)
    hnd_latest = query(root / "first_publication" / "kpi.duckdb",
                       "select level, strftime(month_start_date, '%Y-%m') from marts.surge_signals "
                       "where country_iso3 = 'HND' and series_id = 'usbp_encounters_southwest_border' "
                       "order by month_start_date desc limit 1")[0]
    row = re.search(r'<tr data-series="usbp_encounters_southwest_border">.*?</tr>', page).group(0)
    assert f'data-country="HND" data-level="{hnd_latest[0]}"' in row and hnd_latest[1] in row
    charts = re.findall(r'<svg class="monthly-chart" data-series="([a-z_]+)" data-country="([A-Z]+)" '
                        r'data-months="(\d+)" data-flagged="(\d+)".*?</svg>', page)
    assert len(charts) == len(re.findall(r'<td data-country="[A-Z]+" data-level=', page))  # one chart per series and country
    hnd_chart = re.search(r'<svg class="monthly-chart" data-series="usbp_encounters_southwest_border" '
                          r'data-country="HND".*?</svg>', page).group(0)
    shaded = re.findall(r'<rect class="flag (elevated|surge)" data-month="(\d{4}-\d\d)"', hnd_chart)
    flagged = query(root / "first_publication" / "kpi.duckdb",
                    "select level, strftime(month_start_date, '%Y-%m') from marts.surge_signals where country_iso3 = 'HND' "
                    "and series_id = 'usbp_encounters_southwest_border' and level in ('elevated', 'surge') "
                    "and month_start_date > date '2014-11-01' order by month_start_date")
    assert shaded == [tuple(row) for row in flagged] and ("elevated", "2019-02") in shaded


def test_a_new_month_that_surges_is_alerted_once_and_a_revision_down_is_noted(built_warehouse, tmp_path, httpserver):
    env = copy_of_built(built_warehouse, tmp_path)
    env["KPI_ALERT_WEBHOOK_URL"] = httpserver.url_for("/hooks/T0KEN")
    httpserver.expect_request("/hooks/T0KEN", method="POST").respond_with_data("ok")
    failures = Path(env["KPI_FAILURES_DIR"])
    serving_file = tmp_path / "serving" / "kpi.duckdb"
    instance = dg.DagsterInstance.ephemeral()

    # September 2025: Honduran encounters twelve times August's, everyone else as in August
    cbp_release_with_september(tmp_path / "snapshot", "cbp-sbo-encounters-fy22-fy25-sep",
                               lambda citizenship: 12.0 if citizenship == "Honduras" else 1.0)
    _, _, transform = daily(env, *WINDOW, instance)
    [(level, value, expected)] = query(serving_file, "select level, value, expected_value from marts.surge_signals "
                                                     "where country_iso3 = 'HND' and series_id = ? "
                                                     "and month_start_date = date '2025-09-01'", [CBP_SERIES])
    assert level == "surge" and value > 3 * expected
    publication_id = current_publication(tmp_path / "serving")["publication_id"]
    posted = [json.loads(request.data) for request, _ in httpserver.log]
    september = [p for p in posted if p["record"]["month"] == "2025-09"]
    assert len(september) == 1 and september[0]["kind"] == ALERT_KIND
    alert = september[0]["record"]
    assert (alert["country_iso3"], alert["series"], alert["level"], alert["value"]) == (
        "HND", "CBP encounters (Border Patrol and OFO), Southwest land border", "surge", value)
    assert alert["expected_value"] == pytest.approx(expected) and alert["publication_id"] == publication_id
    assert alert["source_vintage"] == "sbo-encounters-fy22-fy25-sep" and f"{value:,}" in september[0]["text"]
    # every post is a record beside the failure records, and an observation of surge_signals on the publishing run
    records = [json.loads(path.read_text()) for path in sorted(failures.glob("*.json"))]
    assert sorted((r["country_iso3"], r["series_id"], r["month"]) for r in records if r["kind"] == ALERT_KIND) == sorted(
        (p["record"]["country_iso3"], p["record"]["series_id"], p["record"]["month"]) for p in posted)
    observations = [event.event_specific_data.asset_observation.metadata for event in transform.all_events
                    if event.event_type_value == "ASSET_OBSERVATION" and event.step_key == "publish_marts"
                    and event.asset_key.to_user_string() == "marts/surge_signals"]
    assert sorted((m["kind"].value, m["country_iso3"].value, m["month"].value) for m in observations) == sorted(
        (ALERT_KIND, p["record"]["country_iso3"], p["record"]["month"]) for p in posted)

    # published again with nothing new: nothing is alerted again
    again = run_job(env, *WINDOW, instance=instance, job="kpi_transform_publish")
    assert again.success and current_publication(tmp_path / "serving")["publication_id"] != publication_id
    assert len(httpserver.log) == len(posted)

    # CBP revises September down to August's level: noted once, not alerted again
    cbp_release_with_september(tmp_path / "snapshot", "cbp-sbo-encounters-fy22-fy25-sep-revised", lambda citizenship: 1.0)
    daily(env, *WINDOW, instance)
    [(level, value, revised, before)] = query(
        serving_file, "select level, value, is_revised, previous_release_value from marts.surge_signals "
                      "where country_iso3 = 'HND' and series_id = ? and month_start_date = date '2025-09-01'", [CBP_SERIES])
    assert level == "normal" and revised and before == alert["value"] and value < before
    assert len(httpserver.log) == len(posted)
    [note] = [json.loads(path.read_text()) for path in failures.glob(f"*-{REVISION_KIND}-*.json")]
    assert (note["month"], note["value"], note["alerted_value"], note["alerted_level"]) == ("2025-09", value, before, "surge")
    assert "not alerted again" in note["message"]
    run_job(env, *WINDOW, instance=instance, job="kpi_transform_publish")
    assert len(list(failures.glob(f"*-{REVISION_KIND}-*.json"))) == 1 and len(httpserver.log) == len(posted)
