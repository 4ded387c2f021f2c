"""US border encounters (orchestration/sources/cbp.py) on the real OHSS workbook and CBP CSV."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from orchestration.config import load_settings
from orchestration.core.errors import SourceFormatError
from orchestration.core.settings import Settings
from orchestration.sources import cbp
from orchestration.fetch.archive import LandedFile, LandingWriter, list_landings, read_landing
from orchestration.fetch.http import LiveFetcher, http_session
from orchestration.check.validation import validate_frame

SNAPSHOT = Path(__file__).resolve().parents[2] / "snapshot"
WORKBOOK = SNAPSHOT / "cbp" / "ohss-khsm-encounters-usbp-fy25m11" / "KHSM_Encounters_USBP_fy25m11.xlsx"
CSV = SNAPSHOT / "cbp" / "cbp-sbo-encounters-fy22-fy25-aug" / "sbo-encounters-fy22-fy25-aug.csv"
COUNTRIES = ("HND", "GTM", "SLV", "NIC", "MEX")
NAMES = {"HND": "Honduras", "GTM": "Guatemala", "SLV": "El Salvador", "NIC": "Nicaragua", "MEX": "Mexico"}


@pytest.fixture(scope="module")
def settings() -> Settings:
    return load_settings({})


@pytest.fixture(scope="module")
def frames(settings) -> dict[str, pd.DataFrame]:
    return cbp.SPEC.parse(list_landings(SNAPSHOT, "cbp"), settings)


@pytest.fixture(scope="module")
def workbook_sw_annual() -> pd.DataFrame:
    """The workbook's annual region x citizenship sheet read independently (by its name) as the oracle."""
    sheet = pd.read_excel(WORKBOOK, sheet_name="Annual Rgn and Citp", engine="calamine")
    sheet.columns = ["fiscal_year", "region", "citizenship", "quantity"]
    return sheet[sheet["region"] == "Southwest Land Border"]


def _landed(name: str) -> LandedFile:
    return LandedFile(source="cbp", landing_dir=Path("/nonexistent"), file=name, url=f"http://test/{name}", sha256="")


def _workbook_with(part: str, *replacements: tuple[bytes, bytes]) -> bytes:
    """The real workbook with byte strings replaced in one of its XML parts (fast: no re-save)."""
    source = zipfile.ZipFile(WORKBOOK)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == part:
                for old, new in replacements:
                    assert old in data, f"{old!r} not in {part}"
                    data = data.replace(old, new)
            target.writestr(item, data)
    return out.getvalue()


# --- acceptance -------------------------------------------------------------------------------

def _kpi(frames) -> pd.DataFrame:
    annual = frames[cbp.OHSS_ANNUAL]
    return annual[(annual["region"] == "Southwest Land Border") & ~annual["is_partial_year"]]


def test_hnd_fy2000_is_8650(frames):
    kpi = _kpi(frames)
    assert kpi.loc[(kpi["citizenship_code"] == "HND") & (kpi["fiscal_year"] == 2000), "encounters"].tolist() == [8650]


@pytest.mark.parametrize("iso3", COUNTRIES)
def test_every_complete_year_equals_the_workbook_southwest_figure(frames, workbook_sw_annual, iso3):
    kpi = _kpi(frames)
    ours = kpi[kpi["citizenship_code"] == iso3].set_index("fiscal_year")["encounters"].sort_index()
    published = workbook_sw_annual[workbook_sw_annual["citizenship"] == NAMES[iso3]].set_index("fiscal_year")["quantity"]
    published = published[published.index < 2025].sort_index()  # FY2025 has 2 months in this release
    assert list(ours.index) == list(range(2000, 2025))
    assert ours.to_dict() == published.astype(int).to_dict()


def test_cbp_csv_honduras_totals_match_provenance(frames):
    sbo = frames[cbp.CBP_MONTHLY]
    hnd = sbo[sbo["citizenship_code"] == "HND"].groupby("fiscal_year")["encounters"].sum().to_dict()
    assert hnd == {2022: 213023, 2023: 213686, 2024: 140479, 2025: 31401}
    usbp_2022 = sbo[(sbo["citizenship_code"] == "HND") & (sbo["fiscal_year"] == 2022) & (sbo["component"] == "U.S. Border Patrol")]
    assert usbp_2022["encounters"].sum() == 199186  # OHSS Southwest, rounded: 199,190


# --- partial years, groups, quirks ------------------------------------------------------------

def test_partial_years_are_flagged_from_the_data(frames):
    annual = frames[cbp.OHSS_ANNUAL]
    flags = annual.groupby("fiscal_year").agg(partial=("is_partial_year", "all"), months=("months_reported", "max"))
    assert flags.loc[2025].tolist() == [True, 2]
    assert not flags.loc[2000:2024, "partial"].any() and (flags.loc[2000:2024, "months"] == 12).all()
    sbo = frames[cbp.CBP_MONTHLY]
    assert sbo.groupby("fiscal_year")["is_partial_year"].all().to_dict() == {2022: False, 2023: False, 2024: False, 2025: True}


def test_partial_flag_is_decided_by_months_present_not_by_year():
    monthly = pd.DataFrame({"fiscal_year": [2030] * 12 + [2031] * 3, "fiscal_month": list(range(1, 13)) + [1, 2, 3]})
    assert cbp.months_per_fiscal_year(monthly) == {2030: 12, 2031: 3}


def test_citizenships_map_to_iso3_or_the_group_other(frames):
    assert set(frames[cbp.OHSS_MONTHLY]["citizenship_code"]) == set(COUNTRIES)
    assert set(frames[cbp.CBP_MONTHLY]["citizenship_code"]) == {"HND", "GTM", "SLV", "MEX", "OTHER"}


def test_only_configured_countries_are_kept(settings):
    one_country = Settings(**{**settings.__dict__, "countries": ("HND",)})
    parsed = cbp.SPEC.parse(list_landings(SNAPSHOT, "cbp"), one_country)
    assert set(parsed[cbp.OHSS_ANNUAL]["citizenship_code"]) == {"HND"}
    assert set(parsed[cbp.CBP_MONTHLY]["citizenship_code"]) == {"HND", "OTHER"}


@pytest.mark.parametrize("raw, expected", [("Fiscal\nYear", "Fiscal Year"), ("  Month ", "Month"), (None, "")])
def test_normalise_header(raw, expected):
    assert cbp.normalise_header(raw) == expected


@pytest.mark.parametrize("label, expected", [("01 October", (1, 10)), ("03 December", (3, 12)), ("12 September", (12, 9))])
def test_parse_ohss_month(label, expected):
    assert cbp.parse_ohss_month(label) == expected


@pytest.mark.parametrize("label", ["02 October", "October", "13 Smarch"])
def test_parse_ohss_month_rejects_inconsistent_labels(label):
    with pytest.raises(ValueError):
        cbp.parse_ohss_month(label)


def test_month_helpers():
    assert cbp.parse_cbp_month("OCT") == (1, 10) and cbp.parse_cbp_month("sep") == (12, 9)
    assert cbp.calendar_year_of(2025, 10) == 2024 and cbp.calendar_year_of(2025, 9) == 2025
    with pytest.raises(ValueError):
        cbp.parse_cbp_month("OCTOBER")


@pytest.mark.parametrize("label, expected", [("2025 (FYTD)", (2025, True)), ("2024", (2024, False)), (2023, (2023, False))])
def test_parse_fiscal_year_label(label, expected):
    assert cbp.parse_fiscal_year_label(label) == expected


def test_classify_citizenship():
    assert cbp.classify_citizenship("Honduras", cbp.CITIZENSHIP_GROUPS) == "HND"
    assert cbp.classify_citizenship("Other", cbp.CITIZENSHIP_GROUPS) == "OTHER"
    assert cbp.classify_citizenship("Other", {}) is None
    assert cbp.classify_citizenship("Atlantis", cbp.CITIZENSHIP_GROUPS) is None


# --- suites and reconciliations ---------------------------------------------------------------

@pytest.fixture(scope="module")
def checks(frames):
    return cbp.check_frames(frames)


@pytest.mark.parametrize("dataset", [cbp.OHSS_MONTHLY, cbp.OHSS_ANNUAL, cbp.CBP_MONTHLY])
def test_real_frames_pass_their_suites(frames, dataset):
    report = validate_frame(dataset, frames[dataset])
    assert report.success, report.message()


@pytest.mark.parametrize("suite", [cbp.CHECK_MONTHLY_VS_ANNUAL, cbp.CHECK_YEAR_COMPLETENESS])
def test_real_check_frames_pass(checks, suite):
    report = validate_frame(suite, checks[suite])
    assert report.success, report.message()


def test_monthly_sum_beyond_rounding_fails_the_check(frames):
    monthly = frames[cbp.OHSS_MONTHLY].copy()
    first_hnd = monthly.index[(monthly["citizenship_code"] == "HND") & (monthly["region"] == "Southwest Land Border")][0]
    monthly.loc[first_hnd, "encounters"] += 100
    check = cbp.monthly_vs_annual(monthly, frames[cbp.OHSS_ANNUAL])
    assert not validate_frame(cbp.CHECK_MONTHLY_VS_ANNUAL, check).success


def test_a_partial_year_not_flagged_fails_the_suites(frames):
    annual = frames[cbp.OHSS_ANNUAL].assign(is_partial_year=False)
    assert not validate_frame(cbp.OHSS_ANNUAL, annual).success
    sbo = frames[cbp.CBP_MONTHLY].assign(is_partial_year=False)
    completeness = cbp.fiscal_year_completeness({cbp.CBP_MONTHLY: sbo})
    assert not validate_frame(cbp.CHECK_YEAR_COMPLETENESS, completeness).success


# --- bad input --------------------------------------------------------------------------------

def test_renamed_workbook_header_fails_with_the_file_named():
    # the header cells share one string: renaming it renames the Citizenship column of every sheet
    renamed = _workbook_with("xl/sharedStrings.xml", (b"<t>Citizenship</t>", b"<t>Country of Citizenship</t>"))
    with pytest.raises(SourceFormatError, match=r"KHSM.*no sheet has the header row \['Fiscal Year', 'Month', 'Region', 'Citizenship'"):
        cbp.parse_ohss_workbook(renamed, _landed("KHSM_renamed.xlsx"), "f", COUNTRIES)


def test_sheets_are_found_by_header_not_position():
    # move the two sheets that are read to the front of the workbook, in the other order
    annual = b'<sheet name="Annual Rgn and Citp" sheetId="11" r:id="rId11"/>'
    monthly = b'<sheet name="Monthly Rgn and Citp" sheetId="12" r:id="rId12"/>'
    first = b'<sheet name="Annual Count" sheetId="1" r:id="rId1"/>'
    book = _workbook_with("xl/workbook.xml", (annual, b""), (monthly, b""), (first, monthly + annual + first))
    sheets = pd.read_excel(io.BytesIO(book), sheet_name=None, header=None, engine="calamine")
    assert list(sheets)[:2] == ["Monthly Rgn and Citp", "Annual Rgn and Citp"]
    monthly, annual = cbp.parse_ohss_workbook(book, _landed("KHSM_moved.xlsx"), "f", COUNTRIES)
    hnd = annual[(annual["citizenship_code"] == "HND") & (annual["fiscal_year"] == 2000) & (annual["region"] == "Southwest Land Border")]
    assert hnd["encounters"].tolist() == [8650] and len(monthly) == 3899


def test_header_row_below_a_title_row_is_found():
    sheet = pd.DataFrame([["Encounters by region and citizenship", None, None, None],
                          ["Fiscal\nYear", "Region", "Citizenship", "Quantity"], [2000, "Coastal Border", "Honduras", 130]])
    assert cbp.find_header_row(sheet, cbp.OHSS_ANNUAL_HEADERS) == 1
    assert cbp.find_header_row(sheet, cbp.OHSS_MONTHLY_HEADERS) is None


def test_renamed_citizenship_of_a_configured_country_fails():
    renamed = _workbook_with("xl/sharedStrings.xml", (b"<t>Nicaragua</t>", b"<t>Nicaragua, Republic of</t>"))
    with pytest.raises(SourceFormatError, match=r"configured countries \['NIC'\]"):
        cbp.parse_ohss_workbook(renamed, _landed("KHSM_nic.xlsx"), "f", COUNTRIES)


def test_renamed_csv_header_fails():
    body = CSV.read_bytes().replace(b"Citizenship Grouping", b"Citizenship", 1)
    with pytest.raises(SourceFormatError, match=r"no column\(s\) \['Citizenship Grouping'\]"):
        cbp.parse_cbp_csv(body, _landed("sbo.csv"), "f", COUNTRIES)


def test_unknown_cbp_citizenship_group_fails():
    body = CSV.read_bytes().replace(b",Other,", b",Others (Rest of World),", 1)
    with pytest.raises(SourceFormatError, match="unknown citizenship group"):
        cbp.parse_cbp_csv(body, _landed("sbo.csv"), "f", COUNTRIES)


def test_non_numeric_count_fails_with_its_row():
    body = CSV.read_bytes().replace(b"Expulsions,1\r\n", b"Expulsions,n/a\r\n", 1)
    with pytest.raises(SourceFormatError, match="data row 1: count 'n/a'"):
        cbp.parse_cbp_csv(body, _landed("sbo.csv"), "f", COUNTRIES)


@pytest.mark.parametrize("body, problem", [
    (b"<!DOCTYPE html><html><body>Access denied</body></html>", "HTML page"),
    (WORKBOOK.read_bytes()[:400_000], "truncated"),
    (b"", "empty body"),
])
def test_bad_workbook_bytes_fail(body, problem):
    with pytest.raises(SourceFormatError, match=problem):
        cbp.parse_ohss_workbook(body, _landed("KHSM.xlsx"), "f", COUNTRIES)


def test_html_instead_of_csv_fails():
    with pytest.raises(SourceFormatError, match="HTML page"):
        cbp.parse_cbp_csv(b"<html><head><title>Just a moment...</title></head></html>", _landed("sbo.csv"), "f", COUNTRIES)


# --- live fetch against a real local HTTP server ----------------------------------------------

OHSS_PAGE = """<!DOCTYPE html><html><body><h1>CBP Encounters</h1>
<a href="/sites/default/files/2025-09/KHSM%20Encounters%20%28USBP%29%20fy25m11.xlsx">USBP workbook</a>
<a href="/sites/default/files/2025-09/KHSM%20Encounters%20%28OFO%29%20fy25m11.xlsx">OFO workbook</a>
<a href="/about">About</a></body></html>"""
CBP_PAGE = """<!DOCTYPE html><html><body>
<a href="http://{host}/sites/default/files/2025-09/sbo-encounters-fy22-fy25-aug.csv">Download CSV</a>
</body></html>"""


def _serve_publishers(httpserver, cbp_page: str = CBP_PAGE):
    host = httpserver.url_for("/").split("/")[2]
    httpserver.expect_request(cbp.OHSS_LANDING_PATH).respond_with_data(OHSS_PAGE, content_type="text/html")
    httpserver.expect_request(cbp.CBP_LANDING_PATH).respond_with_data(cbp_page.format(host=host), content_type="text/html")
    httpserver.expect_request("/sites/default/files/2025-09/KHSM Encounters (USBP) fy25m11.xlsx").respond_with_data(
        WORKBOOK.read_bytes(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    httpserver.expect_request("/sites/default/files/2025-09/sbo-encounters-fy22-fy25-aug.csv").respond_with_data(
        CSV.read_bytes(), content_type="text/csv")


def _live_fetch(httpserver, tmp_path, env=None):
    base = httpserver.url_for("/").rstrip("/")
    writer = LandingWriter(tmp_path, "cbp", licence=cbp.LICENCE)
    fetcher = LiveFetcher("cbp", writer, http_session(), base, 10, 0)
    metadata = cbp.fetch(fetcher, base, {cbp.OHSS_BASE_URL_ENV: base, **(env or {})})
    writer.metadata.update(metadata)
    writer.finish()
    return read_landing(writer.path, "cbp"), metadata


def test_live_fetch_finds_files_on_landing_pages_and_parses_like_replay(httpserver, tmp_path, settings, frames):
    _serve_publishers(httpserver)
    landing, metadata = _live_fetch(httpserver, tmp_path)
    assert metadata["ohss_workbook_url"].endswith("KHSM%20Encounters%20%28USBP%29%20fy25m11.xlsx")
    assert {f.file for f in landing.files} == {
        "ohss_landing_page.html", "cbp_landing_page.html", "KHSM_Encounters_USBP_fy25m11.xlsx", "sbo-encounters-fy22-fy25-aug.csv"}
    live = cbp.SPEC.parse([landing], settings)
    for dataset, replayed in frames.items():
        pd.testing.assert_frame_equal(live[dataset].drop(columns=["source_url", "fetch_id", "source_file"], errors="ignore"),
                                      replayed.drop(columns=["source_url", "fetch_id", "source_file"], errors="ignore"))


def test_live_fetch_takes_explicit_urls_from_env(httpserver, tmp_path):
    _serve_publishers(httpserver)
    csv_url = httpserver.url_for("/sites/default/files/2025-09/sbo-encounters-fy22-fy25-aug.csv")
    landing, metadata = _live_fetch(httpserver, tmp_path, {cbp.CBP_CSV_URL_ENV: csv_url})
    assert metadata["cbp_csv_url"] == csv_url
    assert "cbp_landing_page.html" not in {f.file for f in landing.files}


def test_landing_page_without_the_file_link_fails(httpserver, tmp_path):
    _serve_publishers(httpserver, cbp_page="<html><body><a href='/other.pdf'>PDF</a></body></html>")
    with pytest.raises(SourceFormatError, match="links no file matching"):
        _live_fetch(httpserver, tmp_path)


def test_file_name_from_url():
    assert cbp.file_name_from_url("https://x/f/KHSM%20Encounters%20%28USBP%29%20fy25m11.xlsx") == "KHSM_Encounters_USBP_fy25m11.xlsx"
    assert cbp.file_name_from_url("https://x/f/sbo-encounters-fy22-fy25-aug.csv") == "sbo-encounters-fy22-fy25-aug.csv"
