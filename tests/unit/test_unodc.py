"""UNODC drug seizures (orchestration/sources/unodc/) on the real World Drug Report 2024 annex table 7.1."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from orchestration.config import load_settings
from orchestration.core.errors import SourceFormatError
from orchestration.core.settings import Settings
from orchestration.sources import unodc
from orchestration.fetch.acquire import acquire_landings
from orchestration.fetch.archive import LandedFile, list_landings
from orchestration.check.validation import validate_frame

SNAPSHOT = Path(__file__).resolve().parents[2] / "snapshot"
WORKBOOK = SNAPSHOT / "unodc" / "wdr-2024-annex-7.1-drug-seizures-2018-2022" / "7.1_Drug_seizures_2018-2022.xlsx"
COUNTRIES = ("HND", "GTM", "SLV", "NIC", "MEX")
DBT_SEEDS = Path(__file__).resolve().parents[2] / "dbt_project" / "seeds"


@pytest.fixture(scope="module")
def settings() -> Settings:
    return load_settings({})


@pytest.fixture(scope="module")
def seizures(settings) -> pd.DataFrame:
    return unodc.SPEC.parse(list_landings(SNAPSHOT, unodc.SOURCE), settings)[unodc.DATASET]


def _landed() -> LandedFile:
    return LandedFile(source=unodc.SOURCE, landing_dir=WORKBOOK.parent, file=WORKBOOK.name, url="http://test/7.1.xlsx", sha256="")


def _workbook_with(old: bytes, new: bytes) -> bytes:
    source = zipfile.ZipFile(WORKBOOK)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/sharedStrings.xml":
                assert old in data
                data = data.replace(old, new, 1)
            target.writestr(item, data)
    return out.getvalue()


def test_every_row_of_a_key_is_kept_and_the_cocaine_rows_sum_as_the_annex_reports(seizures):
    hnd_2021 = seizures[(seizures.country_iso3 == "HND") & (seizures.year == 2021) & (seizures.drug_subgroup == "Cocaine")]
    hydrochloride = hnd_2021[hnd_2021.drug_name == "Cocaine hydrochloride"].kilograms.sort_values().tolist()
    assert hydrochloride == pytest.approx([2.1007, 17_545])  # two reports, both kept
    assert hnd_2021.kilograms.sum() == pytest.approx(17_557.9207)  # + 10.82 kg of crack
    assert set(seizures.vintage) == {"2018-2022"}


def test_coca_plant_material_is_loaded_but_is_not_cocaine(seizures):
    coca = seizures[(seizures.country_iso3 == "HND") & (seizures.drug_subgroup == "Coca-type")]
    assert coca.set_index(["year", "drug_name"]).kilograms[(2020, "Coca bush")] == 443_500
    coverage = unodc.drug_name_coverage(seizures)
    # plant material is a cocaine-type group's name the seed knows (and does not count as cocaine)
    assert unodc.drug_key("Cocaine-type", "Coca-type", "Coca bush") in set(coverage.drug)
    assert set(coverage.drug) <= set(unodc.expectation_parameters()[unodc.SEED_DRUGS_PARAMETER])


def test_a_country_year_without_rows_has_none(seizures):
    assert sorted(seizures[seizures.country_iso3 == "GTM"].year.unique()) == [2018, 2019, 2020, 2021]
    assert set(seizures.country_iso3) == set(COUNTRIES)


def test_a_row_without_a_weight_is_missing_not_zero(seizures):
    row = seizures[seizures.sheet_row == 1169]
    assert row.country_iso3.tolist() == ["GTM"] and row.kilograms.isna().all()


def test_every_suite_passes_and_a_new_cocaine_name_fails_the_check(seizures):
    frames = {unodc.DATASET: seizures}
    parameters = unodc.SPEC.expectation_parameters()
    for name, frame in {**frames, **unodc.SPEC.check_frames(frames)}.items():
        report = validate_frame(name, frame, parameters=parameters)
        assert report.success, report.message()
    renamed = seizures.copy()
    renamed.loc[renamed.drug_name == "Cocaine hydrochloride", "drug_name"] = "Cocaine salts"
    report = validate_frame(unodc.CHECK_DRUG_NAMES, unodc.drug_name_coverage(renamed), parameters=parameters)
    assert not report.success and "Cocaine salts" in report.message()
    assert report.failures[0].expectation == "expect_column_values_to_be_in_set"


def test_the_drug_name_suite_reads_the_seed_not_a_copy_of_it(seizures):
    """The seed is the one list: without it the suite cannot run, and a seed that drops a name fails."""
    coverage = unodc.drug_name_coverage(seizures)
    with pytest.raises(Exception, match=unodc.SEED_DRUGS_PARAMETER):
        validate_frame(unodc.CHECK_DRUG_NAMES, coverage)
    known = unodc.expectation_parameters()[unodc.SEED_DRUGS_PARAMETER]
    dropped = unodc.drug_key("Cocaine-type", "Cocaine", "Cocaine hydrochloride")
    assert dropped in known
    report = validate_frame(unodc.CHECK_DRUG_NAMES, coverage,
                            parameters={unodc.SEED_DRUGS_PARAMETER: [key for key in known if key != dropped]})
    assert not report.success and "Cocaine hydrochloride" in report.message()


def test_a_country_name_that_disagrees_with_its_code_is_an_error():
    body = _workbook_with(b"<t>Honduras</t>", b"<t>Guatemala</t>")
    with pytest.raises(SourceFormatError, match=r"\[unodc\] .*row \d+: country 'Guatemala' is not msCode 'HND'"):
        unodc.parse_workbook(body, _landed(), "f", COUNTRIES)


def test_every_country_of_the_warehouse_parses_under_the_annex_spelling():
    """KPI_COUNTRIES may name any seed country: the annex spells some in the UN's long form
    ("Venezuela (Bolivarian Republic of)", "United States of America")."""
    every_country = tuple(line.split(",")[0] for line in (DBT_SEEDS / "countries.csv").read_text().splitlines()[1:])
    parsed = unodc.parse_workbook(WORKBOOK.read_bytes(), _landed(), "f", every_country)
    assert {"VEN", "USA", "CRI", "HND"} <= set(parsed.country_iso3)


def test_a_renamed_column_is_an_error():
    body = _workbook_with(b"<t>Kilograms</t>", b"<t>Tonnes</t>")
    with pytest.raises(SourceFormatError, match="no sheet has the header row"):
        unodc.parse_workbook(body, _landed(), "f", COUNTRIES)


def test_title_names_the_release():
    assert unodc.release_of_title("Drug seizures, 2018-2022") == (2018, 2022)
    assert unodc.release_of_title("Drug seizures") is None


ANNEX_PAGE = """<html><body><a href="/documents/data-and-analysis/WDR_2024/Annex/7.1_Drug_seizures_2018-2022.xlsx">7.1</a>
<a href="/documents/data-and-analysis/WDR_2024/Annex/7.2_Drug_prices.xlsx">7.2</a></body></html>"""


def _fetch(httpserver, tmp_path, page=ANNEX_PAGE, url=None):
    httpserver.expect_request("/wdr2024_annex.html").respond_with_data(page, content_type="text/html")
    httpserver.expect_request("/documents/data-and-analysis/WDR_2024/Annex/7.1_Drug_seizures_2018-2022.xlsx").respond_with_data(
        WORKBOOK.read_bytes(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    page_url = httpserver.url_for("/wdr2024_annex.html")
    [landing] = acquire_landings(unodc.SOURCE, "live", tmp_path / "snapshot", tmp_path, lambda fetcher: unodc.fetch(fetcher, page_url, url),
                                 base_url=page_url, licence=unodc.LICENCE, timeout_seconds=5, retries=0, backoff_factor=0)
    return landing


def test_live_fetch_finds_the_table_on_the_annex_page_and_parses_like_replay(httpserver, tmp_path, settings, seizures):
    landing = _fetch(httpserver, tmp_path)
    assert sorted(f.file for f in landing.files) == ["7.1_Drug_seizures_2018-2022.xlsx", "wdr_annex.html"]
    live = unodc.SPEC.parse([landing], settings)[unodc.DATASET]
    columns = [c for c in seizures.columns if c not in ("source_url", "fetch_id", "source_file")]  # same bytes, same cells
    pd.testing.assert_frame_equal(live[columns], seizures[columns])


def test_an_ambiguous_annex_page_asks_for_the_url(httpserver, tmp_path):
    two = ANNEX_PAGE + '<a href="/x/7.1_Drug_seizures_2019-2023.xlsx">new</a>'
    with pytest.raises(SourceFormatError, match="links 2 '7.1_Drug_seizures...xlsx' files .*KPI_UNODC_DRUG_SEIZURES_URL"):
        _fetch(httpserver, tmp_path, page=two)
