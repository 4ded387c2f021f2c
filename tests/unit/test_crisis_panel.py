"""The report's crisis panel (orchestration/publish/crisis_panel.py): the latest month's level of each
country and series, and monthly charts that shade exactly the flagged months."""

from __future__ import annotations

import datetime as dt
import re

from orchestration.publish.crisis_panel import crisis_panel_html


def month(level: str | None, year: int, number: int, value: int, partial: bool = False) -> dict:
    return {"country_iso3": "HND", "series_id": "usbp_encounters_southwest_border",
            "series": "Border Patrol encounters, Southwest land border", "month_start_date": dt.date(year, number, 1),
            "value": value, "expected_value": None if level is None else 1000.0, "ratio": None, "score": None,
            "level": level, "is_partial_month": partial, "is_revised": False, "source_vintage": "v"}


def test_the_panel_gives_the_latest_level_and_shades_the_flagged_months():
    rows = [month(None, 2019, 1, 900), month("normal", 2019, 2, 1000), month("elevated", 2019, 3, 1900),
            month("surge", 2019, 4, 4000), month("normal", 2019, 5, 1100, partial=True),
            {**month("normal", 2019, 5, 300), "country_iso3": "GTM", "series_id": "removals", "series": "Removals (DHS)"}]
    page = crisis_panel_html(rows, ["HND", "GTM"], {"HND": "Honduras", "GTM": "Guatemala"}, {"HND": "#1f4e9c"})
    row = re.search(r'<tr data-series="usbp_encounters_southwest_border">.*?</tr>', page).group(0)
    assert 'data-country="HND" data-level="normal"' in row and "2019-05: 1,100 (expected 1,000); partial month" in row
    assert '<td data-country="GTM">–</td>' in row  # a country without this series (it has another)
    assert re.findall(r'<rect class="flag (\w+)" data-month="([\d-]+)"', page) == [("elevated", "2019-03"), ("surge", "2019-04")]
    assert 'data-months="5" data-flagged="2"' in page and page.count('class="monthly-chart"') == 2
    assert crisis_panel_html([], ["HND"], {}, {}) == ""
