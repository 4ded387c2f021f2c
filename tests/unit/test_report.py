"""The report's pure parts: formatting, the comparison view, the notes, and a page built from dim_kpi alone."""

from __future__ import annotations

import datetime as dt
import json

from orchestration.publish.report import (
    PER_100K_COLUMN,
    build_report,
    choose_view,
    format_change,
    format_value,
    index_series,
    kpi_notes,
    publisher_citation,
    report_queries,
)

NAMES = {"HND": "Honduras", "MEX": "Mexico", "NIC": "Nicaragua"}


def kpi(**overrides) -> dict:
    base = {"kpi_id": "visas_issued", "kpi_name": "US visas issued", "programme": "Legal Migration Pathways",
            "unit": "visas", "better_direction": "higher", "baseline_year": 2010, "source_id": "state_dept_visas",
            "derivation": "NIV + IV", "strategy_area": "Legal migration pathways",
            "framework_kpi": "Number of visas issued per year", "publisher": "US Department of State",
            "licence": "US Government work (public domain)", "year_basis": "us_fiscal", "measure_kind": "count"}
    return {**base, **overrides}


def test_values_as_readers_read_them():
    assert format_value(31.4424316507577, "rate") == "31.4"
    assert format_value(89475.0, "count") == "89,475"
    assert format_value(56631.0, "count") == "56,631"
    assert format_value(4_127_212.0, "count") == "4.1M"
    assert format_value(4_127_212.0, "count", exact=True) == "4,127,212"
    assert format_value(-14_525_167.0, "amount") == "−US$14.5M"
    assert format_value(123_456_789.0, "amount", exact=True) == "US$123,456,789"
    assert format_value(None, "count") == "–"
    assert format_change(-7.2251, 43.8, "percent") == "−7.2 pp"
    assert format_change(55178.0, 34297.0, "count") == "+55,178 (+160.9%)"
    # a change against a negative baseline has no meaningful percentage
    assert format_change(42_687_293.0, -14_525_167.0, "amount") == "+US$42.7M"
    assert format_change(None, None, "count") == "–"


def test_counts_are_compared_per_100k_so_mexico_does_not_flatten_honduras():
    values = {"HND": [(2020, 20_000.0), (2021, 30_000.0)], "MEX": [(2020, 1_500_000.0), (2021, 2_000_000.0)]}
    population = {("HND", 2020): 10e6, ("HND", 2021): 10e6, ("MEX", 2020): 125e6, ("MEX", 2021): 126e6}
    view = choose_view(kpi(), values, {}, population, {"HND": 2020, "MEX": 2020}, NAMES)
    assert view.name == "per_100k" and view.axis_title == "visas per 100,000 people"
    assert view.series["HND"] == [(2020, 200.0), (2021, 300.0)]
    assert round(view.series["MEX"][0][1], 1) == 1200.0
    assert "population of the calendar year the fiscal year ends in" in view.how


def test_a_published_per_100k_column_is_used_as_is():
    values = {"HND": [(2020, 1.0), (2021, 2.0)], "MEX": [(2020, 3.0), (2021, 4.0)]}
    published = {"HND": [(2020, 10.0), (2021, 20.0)], "MEX": [(2020, 30.0), (2021, 40.0)]}
    view = choose_view(kpi(), values, published, {}, {}, NAMES)
    assert view.series == published and PER_100K_COLUMN in view.how
    assert PER_100K_COLUMN in report_queries([PER_100K_COLUMN, "value"])["series"]
    assert PER_100K_COLUMN not in report_queries(["value"])["series"]


def test_without_population_counts_fall_back_to_an_index_of_the_baseline_year():
    values = {"HND": [(2010, 50.0), (2011, 100.0)], "MEX": [(2010, 1000.0), (2011, 500.0)], "NIC": [(2010, -5.0), (2011, 5.0)]}
    view = choose_view(kpi(), values, {}, {}, {"HND": 2010, "MEX": 2010, "NIC": 2010}, NAMES)
    assert view.name == "index"
    assert view.series == {"HND": [(2010, 100.0), (2011, 200.0)], "MEX": [(2010, 100.0), (2011, 50.0)]}
    assert view.notes == ["Not indexed (no positive value in the baseline year): Nicaragua; see the absolute figures."]
    assert index_series({"HND": [(2011, 3.0)]}, {"HND": 2010}) == {}  # no value in the base year: not indexed


def test_rates_are_compared_as_published():
    values = {"HND": [(2020, 35.0), (2021, 31.0)], "MEX": [(2020, 28.0), (2021, 28.2)]}
    view = choose_view(kpi(measure_kind="rate", unit="per 100,000 people"), values, {}, {}, {}, NAMES)
    assert view.name == "as_published" and view.series == values


def test_notes_explain_the_traps():
    countries = ["HND", "MEX", "NIC"]
    completion = kpi(kpi_id="primary_completion_rate", measure_kind="percent", year_basis="calendar",
                     derivation="SE.PRM.CMPT.ZS as published: a gross intake ratio to the last grade of primary")
    notes = kpi_notes(completion, {"HND": [(2020, 80.0)], "MEX": [(2014, 111.54), (2022, 102.2)]}, {}, NAMES, countries)
    assert notes[0] == "No values in this release for Nicaragua."
    assert notes[1].startswith("Values above 100 (Mexico; highest Mexico 2014: 111.5) are not errors. It is a gross ratio")
    assessment = kpi(kpi_id="us_assistance_obligations", measure_kind="amount", better_direction="none", unit="current US dollars")
    scorecard = {("NIC", "us_assistance_obligations"): {"baseline_year": 2010, "baseline_value": -14_525_167.0}}
    notes = kpi_notes(assessment, {c: [(2010, 1.0)] for c in countries}, scorecard, NAMES, countries)
    assert notes == ["Nicaragua's baseline (FY2010: −US$14.5M) is not positive, so no percentage change is shown.",
                     "An input, shown beside the outcomes: more or less of it is neither improving nor worsening."]
    modelled = kpi(kpi_id="jobs_created", derivation="ILO modelled estimates")
    assert any(n.startswith("Modelled estimates (ILO)") for n in kpi_notes(modelled, {c: [(2010, 1.0)] for c in countries}, {}, NAMES, countries))


def test_publishers_of_one_source_are_cited_once():
    assert publisher_citation(["World Bank, World Development Indicators (UNODC)",
                               "World Bank, World Development Indicators (ILO modelled estimates)"]) \
        == "World Bank, World Development Indicators (data from ILO modelled estimates; UNODC)"
    assert publisher_citation(["US Department of State"]) == "US Department of State"


def _data(kpis: list[dict]) -> dict:
    series, scorecard = [], []
    for k in kpis:
        for country, scale in (("HND", 1.0), ("MEX", 20.0)):
            for year in range(2010, 2015):
                series.append({"kpi_id": k["kpi_id"], "country_iso3": country, "year": year, "value": scale * (100 + year - 2010),
                               "source_vintage": "2026-01-01"})
            scorecard.append({"country_iso3": country, "kpi_id": k["kpi_id"], "baseline_year": 2010, "baseline_value": scale * 100,
                              "latest_year": 2014, "latest_value": scale * 104, "change": scale * 4, "status": "improving"})
    return {
        "publication": [{"publication_id": "20260101T000000Z-abcdef", "published_at": dt.datetime(2026, 1, 1),
                         "git_revision": "abc", "source_vintages": json.dumps({"unhcr": {"oldest": "2026-01-01", "newest": "2026-01-01"}})}],
        "kpis": kpis, "countries": [{"country_iso3": "HND", "country_name": "Honduras"}, {"country_iso3": "MEX", "country_name": "Mexico"}],
        "series": series, "scorecard": scorecard,
        "population": [{"country_iso3": c, "year": y, "population": p} for c, p in (("HND", 1e7), ("MEX", 1.3e8)) for y in range(2010, 2015)],
    }


def test_a_new_kpi_appears_from_dim_kpi_alone():
    refugees = kpi(kpi_id="refugees_by_origin", kpi_name="Refugees by country of origin", strategy_area="Humanitarian aid",
                   framework_kpi=None, publisher="UNHCR", licence="CC BY 4.0", source_id="unhcr", year_basis="calendar",
                   unit="persons", better_direction="lower")
    report = build_report(_data([kpi(), refugees]))
    assert report.charts == 2 and report.publication_id == "20260101T000000Z-abcdef"
    assert "<h2>Humanitarian aid</h2>" in report.html and 'id="refugees_by_origin"' in report.html
    assert "Source: UNHCR." in report.html and "licensed under" in report.html
    assert report.html.index('data-framework-kpi="Number of visas issued per year"') < report.html.index("<h2>Humanitarian aid</h2>")
