"""The World Bank parser on real-format API pages (the bundled snapshot's converted WDI files)."""

from __future__ import annotations

import json

import pytest

from orchestration.config import load_settings
from orchestration.core.errors import SourceFormatError
from orchestration.sources import worldbank
from orchestration.fetch.archive import LandingWriter, list_landings
from tests.conftest import COUNTRIES, SNAPSHOT_DIR


@pytest.fixture(scope="module")
def landings():
    return list_landings(SNAPSHOT_DIR, worldbank.SOURCE)


def _landing(landings, fragment):
    return next(landing for landing in landings if fragment in landing.fetch_id)


def _homicide_page(landings) -> bytes:
    landing = _landing(landings, "API_VC.IHR.PSRC.P5_DS2_en_csv_v2_3892")
    return landing.files[0].read_bytes()


def test_snapshot_holds_every_vintage_of_the_bundle(landings):
    vintages = sorted({landing.fetch_id.split("__")[0] for landing in landings})
    # 2022-02-15 (remittances % of GDP) and 2023-10-26 (remittances, the Excel download) added by issue 14
    assert vintages == ["2022-02-15", "2022-07-20", "2023-10-26", "2024-02-21", "2025-07-01", "2026-02-24", "2026-04-08"]


def test_parse_page_reads_header_and_rows(landings):
    header, rows = worldbank.parse_page(_homicide_page(landings), "test")
    assert header["lastupdated"] == "2024-02-21"
    assert {row["countryiso3code"] for row in rows} == set(COUNTRIES)
    hnd_2011 = next(r for r in rows if r["countryiso3code"] == "HND" and r["date"] == "2011")
    assert hnd_2011["value"] == pytest.approx(82.389055291302)


def test_null_values_are_missing_not_zero(landings):
    frame = worldbank.parse_landing(_landing(landings, "API_HND_DS2_es"), COUNTRIES, 2000, 2030)
    homicides = frame[frame.indicator_id == "VC.IHR.PSRC.P5"].set_index("year")["value"]
    assert 2024 not in homicides.index  # published as null
    assert homicides[2023] == pytest.approx(31.4424316507577)
    primary = frame[frame.indicator_id == "SE.PRM.CMPT.ZS"].year
    assert 2004 not in set(primary) and 2024 in set(primary)
    assert frame.value.notna().all()


def test_country_without_a_file_has_no_rows(landings):
    frames = worldbank.SPEC.parse(landings, _settings())
    values = frames["worldbank_indicator_values"]
    lower_secondary = values[values.indicator_id == "SE.SEC.CMPT.LO.ZS"]
    assert set(lower_secondary.country_iso3) == {"HND"}


def test_each_value_keeps_its_vintage(landings):
    values = worldbank.SPEC.parse(landings, _settings())["worldbank_indicator_values"]
    hnd_2011 = values[(values.country_iso3 == "HND") & (values.indicator_id == "VC.IHR.PSRC.P5") & (values.year == 2011)]
    by_vintage = {str(v): x for v, x in zip(hnd_2011.vintage, hnd_2011.value)}
    assert sorted(by_vintage) == ["2022-07-20", "2024-02-21", "2026-04-08"]
    assert by_vintage["2022-07-20"] == pytest.approx(83.77, abs=0.005)
    assert by_vintage["2024-02-21"] == pytest.approx(82.389055291302)
    assert by_vintage["2026-04-08"] == pytest.approx(83.18, abs=0.005)


def test_same_vintage_from_two_files_collapses(landings):
    values = worldbank.SPEC.parse(landings, _settings())["worldbank_indicator_values"]
    unemployment = values[(values.indicator_id == "SL.UEM.TOTL.ZS") & (values.country_iso3 == "HND")]
    assert unemployment.duplicated(["year", "vintage"]).sum() == 0
    assert len(unemployment) == unemployment.year.nunique()


def test_countries_setting_filters_rows(landings):
    values = worldbank.SPEC.parse(landings, _settings(countries=("GTM",)))["worldbank_indicator_values"]
    assert set(values.country_iso3) == {"GTM"}


def test_error_body_with_http_200_is_an_error():
    body = json.dumps([{"message": [{"id": "120", "key": "Invalid value", "value": "The provided parameter value is not valid"}]}]).encode()
    with pytest.raises(SourceFormatError, match=r"\[worldbank\] https://example/x: the API returned an error body: id 120"):
        worldbank.parse_page(body, "https://example/x")


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"", "empty body"),
        (b"<!DOCTYPE html><html><body>Please verify you are human</body></html>", "HTML page"),
        (b'[{"page":1,"pages":1', "not valid JSON"),
        (b'{"unexpected": true}', "unexpected JSON shape"),
    ],
)
def test_bad_bodies_name_the_problem(body, problem):
    with pytest.raises(SourceFormatError, match=problem):
        worldbank.parse_page(body, "https://example/x")


def test_missing_page_fails_the_landing(tmp_path, landings):
    header, rows = worldbank.parse_page(_homicide_page(landings), "test")
    writer = LandingWriter(tmp_path, worldbank.SOURCE)
    url = worldbank.indicator_url("https://api.example", COUNTRIES, "VC.IHR.PSRC.P5", 1999, 2022, page=1, per_page=50)
    first = [{**header, "page": 1, "pages": 3, "per_page": 50}, rows[:50]]
    writer.add("p1.json", json.dumps(first).encode(), url=url)
    third = [{**header, "page": 3, "pages": 3, "per_page": 50}, rows[100:]]
    writer.add("p3.json", json.dumps(third).encode(), url=url.replace("page=1", "page=3"))
    landing = writer.finish()
    with pytest.raises(SourceFormatError, match=r"page\(s\) \[2\] of 3 missing"):
        worldbank.parse_landing(landing, COUNTRIES, 2000, 2030)


def test_non_numeric_value_is_an_error(tmp_path, landings):
    header, rows = worldbank.parse_page(_homicide_page(landings), "test")
    rows[0]["value"] = "31,4"
    writer = LandingWriter(tmp_path, worldbank.SOURCE)
    writer.add("p1.json", json.dumps([header, rows]).encode(),
               url=worldbank.indicator_url("https://api.example", COUNTRIES, "VC.IHR.PSRC.P5", 2000, 2022))
    with pytest.raises(SourceFormatError, match="is not a number"):
        worldbank.parse_landing(writer.finish(), COUNTRIES, 2000, 2030)


def _settings(countries=COUNTRIES):

    return load_settings({"KPI_COUNTRIES": ",".join(countries)})
