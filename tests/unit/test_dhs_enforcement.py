"""DHS OHSS enforcement tables (orchestration/sources/dhs_enforcement/) on the two real releases."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from orchestration.config import load_settings
from orchestration.core.errors import SourceFetchError, SourceFormatError
from orchestration.core.settings import Settings
from orchestration.sources import dhs_enforcement as dhs
from orchestration.fetch.acquire import acquire_landings
from orchestration.fetch.archive import LandedFile, list_landings
from orchestration.check.validation import validate_frame

SNAPSHOT = Path(__file__).resolve().parents[2] / "snapshot"
AUGUST = SNAPSHOT / "dhs_enforcement" / "2024-08-release" / "2024_1206_ohss_immigration-enforcement-and-legal-processes-tables-august-2024.xlsx"
APRIL = SNAPSHOT / "dhs_enforcement" / "2024-04-release" / "24-0809_ohss_immigration-enforcement-and-legal-processes-tables-april-2024.xlsx"
COUNTRIES = ("HND", "GTM", "SLV", "NIC", "MEX")


@pytest.fixture(scope="module")
def settings() -> Settings:
    return load_settings({})


@pytest.fixture(scope="module")
def frames(settings) -> dict[str, pd.DataFrame]:
    return dhs.SPEC.parse(list_landings(SNAPSHOT, dhs.SOURCE), settings)


def _annual(frames, vintage, measure, country) -> pd.Series:
    annual = frames[dhs.ANNUAL]
    rows = annual[(annual.vintage == vintage) & (annual.measure == measure) & (annual.citizenship_code == country)]
    return rows.set_index("fiscal_year")["persons"]


def _landed(path: Path) -> LandedFile:
    return LandedFile(source=dhs.SOURCE, landing_dir=path.parent, file=path.name, url=f"http://test/{path.name}", sha256="")


def _workbook_with(path: Path, old: bytes, new: bytes) -> bytes:
    """The real workbook with one shared string replaced (the titles and labels live there)."""
    source = zipfile.ZipFile(path)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/sharedStrings.xml":
                assert old in data
                data = data.replace(old, new)
            target.writestr(item, data)
    return out.getvalue()


# ---------------------------------------------------------------- acceptance figures (August 2024 release)


def test_hnd_removals_as_published_in_the_august_release(frames):
    removals = _annual(frames, "2024-08", "removals", "HND")
    assert removals[2019] == 40_760
    assert removals[2014] == 40_770
    assert removals[2023] == 22_200


def test_credible_fear_and_ice_tables_are_read_from_their_own_sheets(frames):
    assert _annual(frames, "2024-08", "credible_fear_referrals", "HND")[2019] == 25_940
    assert _annual(frames, "2024-08", "ice_removals_and_returns", "HND")[2019] == 41_800


def test_the_release_is_named_by_the_month_in_the_titles(frames):
    assert set(frames[dhs.ANNUAL].vintage) == {"2024-04", "2024-08"}
    assert dhs.parse_title("DHS Removals by Selected Citizenship: Fiscal Years 2014 to 2024 YTD (August 2024)") == (
        "DHS Removals by Selected Citizenship", "2024-08")
    assert dhs.parse_title("Return to Table of Contents.") is None


# ---------------------------------------------------------------- the traps


def test_the_ytd_year_is_flagged_with_its_months(frames):
    annual = frames[dhs.ANNUAL]
    hnd_2024 = annual[(annual.citizenship_code == "HND") & (annual.measure == "removals") & (annual.fiscal_year == 2024)]
    assert hnd_2024.set_index("vintage")["months_reported"].to_dict() == {"2024-04": 7, "2024-08": 11}
    assert hnd_2024.is_partial_year.all()
    assert hnd_2024.set_index("vintage")["persons"].to_dict() == {"2024-04": 29_270, "2024-08": 43_240}
    complete = annual[annual.fiscal_year < 2024]
    assert not complete.is_partial_year.any() and (complete.months_reported == 12).all()


def test_a_release_without_a_nicaragua_column_has_no_nicaragua_rows_not_zeros(frames):
    annual = frames[dhs.ANNUAL]
    april_nic = annual[(annual.vintage == "2024-04") & (annual.citizenship_code == "NIC")]
    assert set(april_nic.measure) == {"ice_removals_and_returns", "credible_fear_referrals"}  # no removals column
    august_nic = _annual(frames, "2024-08", "removals", "NIC")
    assert august_nic[2019] > 0 and len(august_nic) == 11


def test_months_belong_to_the_fiscal_year_row_above_them(frames):
    monthly = frames[dhs.MONTHLY]
    hnd = monthly[(monthly.vintage == "2024-08") & (monthly.measure == "removals") & (monthly.citizenship_code == "HND")]
    fy2014 = hnd[hnd.fiscal_year == 2014].set_index("fiscal_month")
    assert fy2014.loc[1, "persons"] == 3_660  # October 2013
    assert (fy2014.loc[1, "calendar_year"], fy2014.loc[1, "calendar_month"]) == (2013, 10)
    assert (fy2014.loc[12, "calendar_year"], fy2014.loc[12, "calendar_month"]) == (2014, 9)
    assert fy2014.persons.sum() == pytest.approx(40_770, abs=5 * 13)  # rounded cells


def test_releases_revise_mexico_and_keep_honduras(frames):
    assert _annual(frames, "2024-04", "removals", "MEX")[2022] == 56_370
    assert _annual(frames, "2024-08", "removals", "MEX")[2022] == 56_160
    april, august = _annual(frames, "2024-04", "removals", "HND"), _annual(frames, "2024-08", "removals", "HND")
    assert april.loc[2014:2023].equals(august.loc[2014:2023])


def test_every_suite_passes_on_both_releases(frames):
    for name, frame in {**frames, **dhs.SPEC.check_frames(frames)}.items():
        report = validate_frame(name, frame)
        assert report.success, report.message()


def test_months_read_under_the_wrong_year_fail_the_reconciliation(frames):
    monthly = frames[dhs.MONTHLY].copy()
    shifted = (monthly.citizenship_code == "HND") & (monthly.fiscal_year == 2019)
    monthly.loc[shifted, "fiscal_year"] = 2020
    monthly = monthly.drop_duplicates(subset=["vintage", "measure", "fiscal_year", "fiscal_month", "citizenship_code"], keep="last")
    check = dhs.months_vs_year(monthly, frames[dhs.ANNUAL])
    report = validate_frame(dhs.CHECK_MONTHS_VS_YEAR, check)
    assert not report.success and "expect_column_pair_values_a_to_be_greater_than_b" in report.message()


def test_a_partial_year_that_is_not_the_last_fails_its_suite(frames):
    annual = frames[dhs.ANNUAL].copy()
    annual.loc[annual.fiscal_year == 2020, "is_partial_year"] = True
    report = validate_frame(dhs.CHECK_PARTIAL_YEAR, dhs.partial_year(annual))
    assert not report.success


# ---------------------------------------------------------------- bad input names the problem


def test_a_comparator_the_tables_do_not_break_out_has_no_rows():
    """Costa Rica and Belize are inside "Other" in every table (the columns are the top ten): the
    release loads for the configured countries it names, with no rows, not zeros, for the others."""
    monthly, annual = dhs.parse_workbook(AUGUST.read_bytes(), _landed(AUGUST), "f", (*COUNTRIES, "CRI", "BLZ", "VEN"))
    assert set(annual.citizenship_code) == {*COUNTRIES, "VEN"} and set(monthly.citizenship_code) == {*COUNTRIES, "VEN"}
    assert (annual[annual.citizenship_code == "HND"].persons > 0).all()


def test_a_renamed_citizenship_fails_naming_the_country_and_the_column():
    # every "Honduras" cell of the workbook (its column headers) spelled as the warehouse does not know it
    body = _workbook_with(AUGUST, b"<t>Honduras</t>", b"<t>Republica de Honduras</t>")
    with pytest.raises(SourceFormatError, match=r"no table has a column for \['HND'\].*'Republica de Honduras' \(.*\).*"
                                                r"country_aliases.csv"):
        dhs.parse_workbook(body, _landed(AUGUST), "f", COUNTRIES)


def test_a_renamed_table_fails_naming_it():
    body = _workbook_with(AUGUST, b"DHS Removals by Selected Citizenship: Fiscal", b"DHS Removals by Chosen Citizenship: Fiscal")
    with pytest.raises(SourceFormatError, match=r"\[dhs_enforcement\] .*no sheet titled \['DHS Removals by Selected Citizenship'\]"):
        dhs.parse_workbook(body, _landed(AUGUST), "f", COUNTRIES)


def test_an_unknown_row_label_fails_naming_sheet_and_row():
    body = _workbook_with(AUGUST, b">October<", b">Octobre<")
    with pytest.raises(SourceFormatError, match=r"sheet '.*': row \d+: unexpected row '' \| 'Octobre'"):
        dhs.parse_workbook(body, _landed(AUGUST), "f", COUNTRIES)


def test_parse_table_rejects_months_before_a_year_and_text_counts():
    header = ["Fiscal Year", "Month", "Total", "Honduras", "Other"]
    month_first = pd.DataFrame([header, [None, "October", 10, 5, 5]])
    with pytest.raises(SourceFormatError, match="month 'October' before any fiscal-year Total row"):
        dhs.parse_table(month_first, "x")
    text_count = pd.DataFrame([header, [2019, "Total", 100, "n/a", 10]])
    with pytest.raises(SourceFormatError, match=r"row 2, column 'Honduras': 'n/a' is not a number"):
        dhs.parse_table(text_count, "x")
    annual, monthly = dhs.parse_table(pd.DataFrame([header, [2019, "Total", 100, None, 90]]), "x")
    assert [r["citizenship"] for r in annual] == ["Total", "Other"]  # an empty cell is missing, not zero


def test_not_a_workbook_is_a_clear_error():
    with pytest.raises(SourceFormatError, match="received an HTML page"):
        dhs.read_workbook(b"<!DOCTYPE html><html>Just a moment</html>", "https://x/y.xlsx")


# ---------------------------------------------------------------- live fetch


PAGE = """<html><body>
<a href="/sites/default/files/2024-08/24-0809_ohss_immigration-enforcement-and-legal-processes-tables-april-2024.xlsx">April 2024</a>
<a href="/sites/default/files/2024-12/2024_1206_ohss_immigration-enforcement-and-legal-processes-tables-august-2024.xlsx">August 2024</a>
<a href="/topics/other.pdf">other</a></body></html>"""


def _serve(httpserver):
    httpserver.expect_request(dhs.TABLES_PAGE_PATH).respond_with_data(PAGE, content_type="text/html")
    for folder, path in (("2024-08", APRIL), ("2024-12", AUGUST)):
        httpserver.expect_request(f"/sites/default/files/{folder}/{path.name}").respond_with_data(
            path.read_bytes(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def _fetch(httpserver, tmp_path, workbook_urls=()):
    base = httpserver.url_for("/").rstrip("/")
    [landing] = acquire_landings(dhs.SOURCE, "live", tmp_path / "snapshot", tmp_path, lambda fetcher: dhs.fetch(fetcher, base, workbook_urls),
                                 base_url=base, licence=dhs.LICENCE, timeout_seconds=5, retries=1, backoff_factor=0)
    return landing


def test_live_fetch_takes_the_newest_release_from_the_tables_page_and_parses_like_replay(httpserver, tmp_path, settings, frames):
    _serve(httpserver)
    landing = _fetch(httpserver, tmp_path)
    assert sorted(f.file for f in landing.files) == [AUGUST.name, "legal-processes-monthly.html"]
    live = dhs.SPEC.parse([landing], settings)
    # the same bytes parse to the same cells: only where they were fetched from and archived differs
    replay = frames[dhs.ANNUAL]
    august = replay[replay.vintage == "2024-08"].drop(columns=["source_url", "fetch_id", "source_file"]).reset_index(drop=True)
    assert live[dhs.ANNUAL].drop(columns=["source_url", "fetch_id", "source_file"]).reset_index(drop=True).equals(august)


def test_live_fetch_of_explicit_urls_loads_both_releases(httpserver, tmp_path, settings):
    _serve(httpserver)
    urls = (httpserver.url_for(f"/sites/default/files/2024-08/{APRIL.name}"), httpserver.url_for(f"/sites/default/files/2024-12/{AUGUST.name}"))
    landing = _fetch(httpserver, tmp_path, urls)
    assert set(dhs.SPEC.parse([landing], settings)[dhs.ANNUAL].vintage) == {"2024-04", "2024-08"}


def test_a_503_is_retried_and_a_missing_workbook_fails_naming_the_url(httpserver, tmp_path):
    httpserver.expect_ordered_request(dhs.TABLES_PAGE_PATH).respond_with_data("busy", status=503)
    _serve(httpserver)
    assert _fetch(httpserver, tmp_path).files
    with pytest.raises(SourceFetchError, match=r"\[dhs_enforcement\] http://.*/missing-august-2024\.xlsx: HTTP 500"):
        _fetch(httpserver, tmp_path, (httpserver.url_for("/missing-august-2024.xlsx"),))


def test_the_newest_link_is_chosen_by_the_month_in_its_name():
    links = ["https://o/a/x_tables-december-2023.xlsx", "https://o/b/x_tables-april-2024.xlsx", "https://o/c/x_tables-march-2024.xlsx"]
    assert dhs.newest_workbook(links, "page") == "https://o/b/x_tables-april-2024.xlsx"
    with pytest.raises(SourceFormatError, match="KPI_DHS_ENFORCEMENT_WORKBOOK_URLS"):
        dhs.newest_workbook(["https://o/tables.xlsx"], "page")
