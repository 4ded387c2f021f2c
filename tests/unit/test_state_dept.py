"""State Department visas: the NIV Detail Table workbook and the Table III PDFs, on the real files."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from orchestration.core.errors import SourceFormatError
from orchestration.sources import state_dept as sd
from orchestration.fetch.archive import LandingWriter, list_landings
from orchestration.fetch.http import LiveFetcher, http_session

ROOT = Path(__file__).resolve().parents[2]
SNAPSHOT = ROOT / "snapshot"
NIV_LANDING = SNAPSHOT / "state_dept" / "niv-detail-table-fy97-fy24"
TABLE_III_LANDING = SNAPSHOT / "state_dept" / "visa-office-table-iii-fy00-fy23"
WORKBOOK = NIV_LANDING / "FYs97-24_NIVDetailTable.xlsx"
EXTRACT = ROOT / "tests" / "fixtures" / "state_dept" / "iv_table_iii_extract.csv"
COUNTRIES = ("HND", "GTM", "SLV", "NIC", "MEX")
WORKBOOK_PATH = "/content/dam/visas/Statistics/Non-Immigrant-Statistics/NIVDetailTables/FYs97-24_NIVDetailTable.xlsx"


@pytest.fixture(scope="module")
def raw_sheets() -> dict[str, pd.DataFrame]:
    return pd.read_excel(WORKBOOK, engine="calamine", sheet_name=None, header=None)


@pytest.fixture(scope="module")
def frames() -> dict[str, pd.DataFrame]:
    """The whole replay snapshot, parsed once (the 24 PDFs take most of the time)."""
    return sd.parse_landings(list_landings(SNAPSHOT, "state_dept"), COUNTRIES, 2000, 2030)


def _niv(frames, iso3, year, visa_class=None):
    niv = frames[sd.NIV_DATASET]
    rows = niv[(niv.country_iso3 == iso3) & (niv.fiscal_year == year)]
    return rows if visa_class is None else int(rows.loc[rows.visa_class == visa_class, "issuances"].item())


def _kpi_nonimmigrant(frames, iso3, year) -> int:
    return int(_niv(frames, iso3, year)["nationality_grand_total"].unique().item())


def _kpi_temporary_work(frames, iso3, year) -> int:
    """As int_state_dept__kpi_values computes it: the classes the seed puts in 'temporary_work'."""
    with open(sd.VISA_CLASS_SEED, newline="") as handle:
        temporary = {row["visa_class_published"] for row in csv.DictReader(handle) if row["pathway_group"] == "temporary_work"}
    rows = _niv(frames, iso3, year)
    return int(rows.loc[rows.visa_class.isin(temporary), "issuances"].sum())


def _kpi_immigrant(frames, iso3, year) -> int:
    iv = frames[sd.IV_DATASET]
    return int(iv.loc[(iv.country_iso3 == iso3) & (iv.fiscal_year == year), "total"].item())


# ----------------------------------------------------------------------------- acceptance figures

def test_acceptance_figures(frames):
    assert _kpi_nonimmigrant(frames, "HND", 2024) == 78_163
    assert _kpi_nonimmigrant(frames, "HND", 2000) == 36_776
    assert _kpi_temporary_work(frames, "HND", 2024) == 8_174
    assert _niv(frames, "HND", 2024, "H2A") + _niv(frames, "HND", 2024, "H2B") == 8_174
    assert _kpi_immigrant(frames, "HND", 2023) == 3_879
    assert _kpi_immigrant(frames, "HND", 2022) == 7_601


def test_niv_values_equal_the_published_figures(frames):
    # figures read off the workbook by hand (snapshot/PROVENANCE.md)
    published = {2019: 30_035, 2020: 20_804, 2021: 28_872, 2022: 46_380, 2023: 85_596, 2024: 78_163}
    assert {year: _kpi_nonimmigrant(frames, "HND", year) for year in published} == published
    assert (_niv(frames, "HND", 2024, "H2B"), _niv(frames, "HND", 2024, "H2A"),
            _niv(frames, "HND", 2024, "B1/B2"), _niv(frames, "HND", 2024, "F1")) == (7_058, 1_116, 65_091, 811)


def test_iv_values_equal_the_table_iii_extract_for_every_country_and_year(frames):
    extract = pd.read_csv(EXTRACT)
    iv = frames[sd.IV_DATASET]
    merged = extract.merge(iv, on=["fiscal_year", "foreign_state"], how="outer", suffixes=("_extract", ""), indicator=True)
    assert (merged["_merge"] == "both").all() and len(merged) == 120
    for column in [*sd.IV_CATEGORIES, "total"]:
        assert merged[f"{column}_extract"].fillna(-1).astype("int64").tolist() == merged[column].fillna(-1).astype("int64").tolist(), column


def test_years_before_2000_and_other_countries_are_not_loaded(frames):
    niv = frames[sd.NIV_DATASET]
    assert niv.fiscal_year.min() == 2000 and niv.fiscal_year.max() == 2024
    assert set(niv.country_iso3) == set(COUNTRIES)
    assert len(niv.groupby(["country_iso3", "fiscal_year"])) == 5 * 25


# ----------------------------------------------------------------------------- NIV workbook quirks

def test_sheets_out_of_order_are_dated_by_their_title(raw_sheets):
    names = list(raw_sheets)
    assert names.index("FY19") < names.index("FY18")  # the publisher's order
    sheets = [sd.parse_niv_sheet(name, sheet, "test") for name, sheet in raw_sheets.items()]
    assert sorted(s.fiscal_year for s in sheets) == list(range(1997, 2025))
    by_name = {s.sheet_name: s.fiscal_year for s in sheets}
    assert (by_name["FY18"], by_name["FY19"]) == (2018, 2019)
    with pytest.raises(SourceFormatError, match="name and title disagree"):
        sd.fiscal_year_of_sheet("FY18", "Fiscal Year 2019", "test")


def test_trailing_total_columns_differ_before_and_after_fy2021(raw_sheets):
    classes_2020, has_total_visas_2020 = sd.split_niv_header(list(raw_sheets["FY20"].iloc[0, 1:]), "FY20", "test")
    classes_2021, has_total_visas_2021 = sd.split_niv_header(list(raw_sheets["FY21"].iloc[0, 1:]), "FY21", "test")
    assert has_total_visas_2020 and not has_total_visas_2021
    assert classes_2020[-1] == "BCC" and "Total Visas" not in classes_2020 and "Grand Total" not in classes_2020
    assert "Grand Total" not in classes_2021 and "BCC" not in classes_2021
    # FY1997: BCC is a class between the totals; Grand Total = Total Visas + BCC
    fy97 = sd.parse_niv_sheet("FY97", raw_sheets["FY97"], "test").nationalities.loc["Honduras"]
    assert (fy97["BCC"], fy97["Grand Total"]) == (110, 24_875)
    assert fy97[[c for c in fy97.index if c != "Grand Total"]].sum() == 24_875


def test_grand_total_row_name_varies_and_is_never_a_class(raw_sheets, frames):
    assert raw_sheets["FY00"].iloc[-1, 0] == "Grand Totals" and raw_sheets["FY24"].iloc[-1, 0] == "Grand Total"
    for name in ("FY00", "FY24"):
        kinds = sd.classify_niv_rows(raw_sheets[name][0])
        assert kinds.iloc[-1] == "grand_total"
    classes = set(frames[sd.NIV_DATASET].visa_class)
    assert not classes & {"Grand Total", "Total Visas"}


def test_region_headers_and_region_totals_are_not_nationalities(raw_sheets):
    # FY2023's "Asia" header row carries zeros in the class columns
    fy23 = raw_sheets["FY23"]
    kinds = sd.classify_niv_rows(fy23[0])
    asia = fy23.index[fy23[0] == "Asia"][0]
    assert kinds[asia] == "region" and fy23.iloc[asia, 1] == 0
    assert (kinds[fy23[0].astype(str).str.startswith("Totals for")] == "region_total").all()
    nationalities = sd.parse_niv_sheet("FY23", fy23, "test").nationalities.index
    assert "Asia" not in nationalities and not any(n.startswith("Totals for") for n in nationalities)
    assert "Honduras" in nationalities and len(nationalities) == 200


def test_class_label_style_change_maps_to_one_normalised_class(frames):
    with open(sd.VISA_CLASS_SEED, newline="") as handle:
        seed = {(row["visa_type"], row["visa_class_published"]): row for row in csv.DictReader(handle)}
    published_2021 = set(_niv(frames, "HND", 2021).visa_class)
    published_2022 = set(_niv(frames, "HND", 2022).visa_class)
    for old, new in [("B-1,2", "B1/B2"), ("H-2B", "H2B"), ("H-2A", "H2A"), ("F-1", "F1"), ("B-1,2/BCC", "BBBCC")]:
        assert old in published_2021 and new in published_2022
        assert seed[("NIV", old)]["visa_class"] == seed[("NIV", new)]["visa_class"]
        assert seed[("NIV", old)]["pathway_group"] == seed[("NIV", new)]["pathway_group"]
    assert seed[("NIV", "H2B")]["pathway_group"] == "temporary_work"
    assert seed[("NIV", "F1")]["pathway_group"] == "students_and_exchange_visitors"
    assert seed[("NIV", "B1/B2")]["pathway_group"] == "visitors"
    # every class of every sheet is kept and known to the seed
    coverage = sd.visa_class_coverage(frames[sd.NIV_DATASET], frames[sd.IV_DATASET], sd.seed_visa_classes())
    assert coverage["class_missing_from_seed"].isna().all() and len(coverage) > 150


def test_a_publisher_slip_outside_the_loaded_countries_does_not_block_the_load(raw_sheets):
    # FY15 Georgia M-2 is 0.24 (carried into the totals); only loaded rows must be whole counts
    fy15 = sd.parse_niv_sheet("FY15", raw_sheets["FY15"], "test")
    assert fy15.nationalities.loc["Georgia", "M-2"] == pytest.approx(0.24)
    with pytest.raises(SourceFormatError, match="Georgia M-2=0.24"):
        sd.check_whole_counts(fy15.nationalities.loc[["Georgia"]], "FY15", "test")


# ----------------------------------------------------------------------------- Table III PDFs

@pytest.mark.parametrize("file_name, year, heading, columns, honduras", [
    ("FY00_Table_III.pdf", 2000, "Returning Residents and Armed Forces Special Immigrants", 5, (1718, 0, 1210, 98, 23, 3049)),
    ("FY06_Table_III.pdf", 2006, "Returning Residents and Armed Forces Special Immigrants", 6, (2113, 1, 785, 126, 0, 10, 3035)),
    ("FY07_Table_III.pdf", 2007, "Special Immigrants", 6, (2233, 1, 1382, 127, 4, 2, 3749)),
    ("FY16_Table_III.pdf", 2016, "Special Immigrants", 5, (5271, 11, 1966, 58, 24, 7330)),
])
def test_table_iii_layouts_across_the_years(file_name, year, heading, columns, honduras):
    body = (TABLE_III_LANDING / file_name).read_bytes()
    text = sd.table_iii_text(body, file_name)
    assert sd.table_iii_fiscal_year(text, file_name) == year
    layout, found_heading = sd.table_iii_layout(text, file_name)
    assert (len(layout), found_heading) == (columns, heading)
    [row] = sd.table_iii_rows(text, layout, ("HND",), file_name)
    assert tuple(row[c] for c in [*layout, "total"]) == honduras


def test_table_iii_renamed_header_and_wrong_column_count_fail():
    text = sd.table_iii_text((TABLE_III_LANDING / "FY23_Table_III.pdf").read_bytes(), "FY23")
    with pytest.raises(SourceFormatError, match="Diversity"):
        sd.table_iii_layout(text.replace("Diversity", "Lottery"), "FY23")
    with pytest.raises(SourceFormatError, match="Honduras 2,414 7 1,393 65 0 3,879 12.*7 numbers"):
        sd.table_iii_rows(text.replace("Honduras 2,414 7 1,393 65 0 3,879", "Honduras 2,414 7 1,393 65 0 3,879 12"),
                          ["immediate_relatives", "special_immigrants", "family_preference", "employment_preference", "diversity_immigrants"],
                          ("HND",), "FY23")


def test_truncated_pdf_fails_with_its_location():
    body = (TABLE_III_LANDING / "FY23_Table_III.pdf").read_bytes()
    with pytest.raises(SourceFormatError, match=r"FY23_Table_III\.pdf.*truncated"):
        sd.table_iii_text(body[: len(body) // 2], "https://travel.state.gov/FY23_Table_III.pdf")


# ----------------------------------------------------------------------------- reconciliations and suites

def test_every_suite_passes_on_the_real_snapshot(frames):
    from orchestration.check.validation import validate_frame

    reports = [validate_frame(name, frame) for name, frame in frames.items()]
    reports += [validate_frame(name, frame) for name, frame in sd.check_frames(frames).items()]
    assert [r.dataset for r in reports] == [sd.NIV_DATASET, sd.IV_DATASET, *sd.SPEC.check_suites]
    assert all(r.success for r in reports), [r.message() for r in reports if not r.success]
    checks = sd.check_frames(frames)
    assert len(checks[sd.NIV_TOTAL_CHECK]) == 125 and len(checks[sd.IV_TOTAL_CHECK]) == 120


def test_reconciliation_suites_fail_on_a_class_missing_from_the_sum(frames):
    from orchestration.check.validation import validate_frame

    niv = frames[sd.NIV_DATASET]
    without_one_class = niv[~((niv.country_iso3 == "HND") & (niv.fiscal_year == 2024) & (niv.visa_class == "H2B"))]
    report = validate_frame(sd.NIV_TOTAL_CHECK, sd.niv_grand_total_check(without_one_class))
    # the row named with both sides: the published 78,163 against the classes' 71,105 (H-2B's 7,058 missing)
    assert not report.success and "78163" in report.message() and "71105" in report.message()
    assert [f.expectation for f in report.failures] == ["expect_column_pair_values_to_be_equal"]


def test_the_iv_total_suite_catches_one_broken_category_cell(frames):
    """One cell of Table III as parsed (HND's immediate relatives, FY2023) off by one: GX compares the
    published total with the categories' sum and names the foreign state's row."""
    from orchestration.check.validation import validate_frame

    iv = frames[sd.IV_DATASET].copy()
    row = iv.index[(iv.country_iso3 == "HND") & (iv.fiscal_year == 2023)][0]
    iv.loc[row, "immediate_relatives"] += 1
    report = validate_frame(sd.IV_TOTAL_CHECK, sd.iv_total_check(iv))
    assert [f.expectation for f in report.failures] == ["expect_column_pair_values_to_be_equal"]
    (failure,) = report.failures
    assert failure.column == "published_total,categories_sum" and failure.unexpected_count == 1
    assert failure.rows[0]["country_iso3"] == "HND" and failure.rows[0]["fiscal_year"] == 2023
    assert failure.rows[0]["categories_sum"] == failure.rows[0]["published_total"] + 1


def _workbook_bytes(sheets: dict[str, pd.DataFrame]) -> bytes:
    """A workbook written from real sheets (values and header cells as read)."""
    workbook = openpyxl.Workbook(write_only=True)
    for name, sheet in sheets.items():
        worksheet = workbook.create_sheet(name)
        for row in sheet.itertuples(index=False):
            worksheet.append([None if isinstance(v, float) and pd.isna(v) else v for v in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_an_unknown_visa_class_fails_the_coverage_check_with_its_name(raw_sheets):
    from orchestration.check.validation import validate_frame

    fy24 = raw_sheets["FY24"].copy()
    fy24.iat[0, list(fy24.iloc[0]).index("H2B")] = "H2X"
    sheets = sd.read_niv_workbook(_workbook_bytes({"FY23": raw_sheets["FY23"], "FY24": fy24}), "test.xlsx")
    niv = sd.niv_rows(sheets, COUNTRIES, 2000, 2030, sd.niv_vintage(sheets), "u", "f", "test.xlsx")
    assert "H2X" in set(niv.visa_class)  # kept, never dropped
    iv = sd.iv_frame([])
    coverage = sd.visa_class_coverage(niv, iv, sd.seed_visa_classes())
    assert coverage["class_missing_from_seed"].dropna().tolist() == ["H2X"]
    report = validate_frame(sd.CLASS_COVERAGE_CHECK, coverage)
    assert not report.success and "H2X" in report.message()


# ----------------------------------------------------------------------------- bad inputs

def _landing_with(tmp_path, file_name: str, body: bytes, url: str):
    writer = LandingWriter(tmp_path, "state_dept", fetch_id="bad")
    writer.add(file_name, body, url=url)
    return writer.finish()


def test_html_instead_of_the_workbook_names_the_url(tmp_path):
    url = "https://travel.state.gov" + WORKBOOK_PATH
    landing = _landing_with(tmp_path, "FYs97-24_NIVDetailTable.xlsx", b"<!DOCTYPE html><html><body>Just a moment...</body></html>", url)
    with pytest.raises(SourceFormatError, match=r"NIVDetailTable\.xlsx.*HTML page.*xlsx file was expected"):
        sd.parse_landings([landing], COUNTRIES, 2000, 2030)


def test_truncated_workbook_fails(tmp_path):
    body = WORKBOOK.read_bytes()
    landing = _landing_with(tmp_path, "FYs97-24_NIVDetailTable.xlsx", body[: len(body) - 5000], "https://travel.state.gov/x.xlsx")
    with pytest.raises(SourceFormatError, match=r"x\.xlsx.*truncated"):
        sd.parse_landings([landing], COUNTRIES, 2000, 2030)


def test_a_missing_sheet_fails(raw_sheets):
    body = _workbook_bytes({name: raw_sheets[name] for name in ("FY21", "FY23", "FY24")})
    with pytest.raises(SourceFormatError, match=r"sheet\(s\) missing for fiscal year\(s\) \[2022\]"):
        sd.read_niv_workbook(body, "https://travel.state.gov/x.xlsx")


def test_renamed_total_column_and_text_in_a_count_fail(raw_sheets):
    fy24 = raw_sheets["FY24"].copy()
    header = list(fy24.iloc[0, 1:])
    header[-1] = "Total"
    with pytest.raises(SourceFormatError, match="last column is 'Total'"):
        sd.split_niv_header(header, "FY24", "test")
    honduras = fy24.index[fy24[0] == "Honduras"][0]
    fy24.iat[honduras, 5] = "n/a"
    with pytest.raises(SourceFormatError, match="'n/a', not a number"):
        sd.parse_niv_sheet("FY24", fy24, "test")


def test_a_bad_pdf_parsed_in_a_worker_fails_with_its_location_in_landing_order(tmp_path):
    good = (TABLE_III_LANDING / "FY23_Table_III.pdf").read_bytes()
    writer = LandingWriter(tmp_path, "state_dept", fetch_id="bad")
    writer.add("FY22_Table_III.pdf", (TABLE_III_LANDING / "FY22_Table_III.pdf").read_bytes(), url="https://travel.state.gov/FY22.pdf")
    writer.add("FY23_Table_III.pdf", good[: len(good) // 2], url="https://travel.state.gov/FY23.pdf")
    writer.add("FY24_Table_III.pdf", b"<!DOCTYPE html><html>Just a moment...</html>", url="https://travel.state.gov/FY24.pdf")
    with pytest.raises(SourceFormatError, match=r"FY23\.pdf.*truncated") as failure:
        sd.parse_landings([writer.finish()], COUNTRIES, 2000, 2030)
    assert failure.value.source == sd.SOURCE and failure.value.problem == "PDF is truncated (no %%EOF marker)"


def test_a_table_iii_served_under_another_years_name_fails(tmp_path):
    """A publisher serving FY22's table at FY23's link would load FY22 twice and lose FY23 (issue 18)."""
    fy22 = (TABLE_III_LANDING / "FY22_Table_III.pdf").read_bytes()
    writer = LandingWriter(tmp_path, "state_dept", fetch_id="bad")
    writer.add("FY22_Table_III.pdf", fy22, url="https://travel.state.gov/FY22_Table_III.pdf")
    writer.add("FY23_Table_III.pdf", fy22, url="https://travel.state.gov/FY23_Table_III.pdf")
    with pytest.raises(SourceFormatError, match=r"FY23_Table_III\.pdf .*the PDF is Table III of FY2022, but it was requested as FY2023"):
        sd.parse_landings([writer.finish()], COUNTRIES, 2000, 2030)


def test_two_table_iii_of_one_year_in_one_fetch_fail(tmp_path):
    fy22 = (TABLE_III_LANDING / "FY22_Table_III.pdf").read_bytes()
    writer = LandingWriter(tmp_path, "state_dept", fetch_id="bad")
    writer.add("FY22_Table_III.pdf", fy22, url="https://travel.state.gov/FY22_Table_III.pdf")
    writer.add("Table_III_latest.pdf", fy22, url="https://travel.state.gov/Table_III_latest.pdf")
    with pytest.raises(SourceFormatError, match=r"a second Table III of FY2022 in one fetch \(the first is FY22_Table_III\.pdf\)"):
        sd.parse_landings([writer.finish()], COUNTRIES, 2000, 2030)


def test_unexpected_file_in_a_landing_fails(tmp_path):
    landing = _landing_with(tmp_path, "table.csv", b"a,b\n1,2\n", "https://travel.state.gov/table.csv")
    with pytest.raises(SourceFormatError, match="unexpected file"):
        sd.parse_landings([landing], COUNTRIES, 2000, 2030)


# ----------------------------------------------------------------------------- live fetch

def _index_page(*links: str) -> str:
    anchors = "\n".join(f'<li><a href="{link}">{link.rsplit("/", 1)[-1]}</a></li>' for link in links)
    return f"<!DOCTYPE html><html><head><title>Visa Statistics</title></head><body><ul>{anchors}</ul></body></html>"


def _live_fetcher(tmp_path, httpserver) -> tuple[LiveFetcher, LandingWriter]:
    writer = LandingWriter(tmp_path, "state_dept")
    return LiveFetcher("state_dept", writer, http_session(), httpserver.url_for("/"), 10, 0), writer


def test_live_fetch_reads_the_index_pages_and_parses_like_replay(tmp_path, httpserver):
    base = httpserver.url_for("/").rstrip("/")
    # absolute links to the publisher's host are rebased onto the configured base URL
    httpserver.expect_request(sd.NIV_INDEX_PATH).respond_with_data(_index_page(
        "https://travel.state.gov/content/dam/visas/Statistics/Non-Immigrant-Statistics/NIVDetailTables/FYs97-23_NIVDetailTable.xlsx",
        "https://travel.state.gov" + WORKBOOK_PATH,
    ), content_type="text/html")
    httpserver.expect_request(sd.TABLE_III_INDEX_PATH).respond_with_data(_index_page(
        "/content/dam/visas/Statistics/AnnualReports/FY1999AnnualReport/FY1999%20table%20III.pdf",
        "/content/dam/visas/Statistics/AnnualReports/FY2022AnnualReport/FY22_TableIII.pdf",
        "/content/dam/visas/Statistics/AnnualReports/FY2023AnnualReport/FY2023_AR_TableIII.pdf",
        "/content/dam/visas/Statistics/AnnualReports/FY2023AnnualReport/FY2023_AR_TableIV.pdf",
    ), content_type="text/html")
    httpserver.expect_request(WORKBOOK_PATH).respond_with_data(WORKBOOK.read_bytes(), content_type="application/vnd.ms-excel")
    for year, path in ((22, "/content/dam/visas/Statistics/AnnualReports/FY2022AnnualReport/FY22_TableIII.pdf"),
                       (23, "/content/dam/visas/Statistics/AnnualReports/FY2023AnnualReport/FY2023_AR_TableIII.pdf")):
        httpserver.expect_request(path).respond_with_data((TABLE_III_LANDING / f"FY{year}_Table_III.pdf").read_bytes(), content_type="application/pdf")
    fetcher, writer = _live_fetcher(tmp_path, httpserver)
    metadata = sd.fetch(fetcher, base, 2000, env={})
    landing = writer.finish()
    assert metadata["niv_workbook_url"] == base + WORKBOOK_PATH
    assert [url.rsplit("/", 1)[-1] for url in metadata["table_iii_urls"]] == ["FY22_TableIII.pdf", "FY2023_AR_TableIII.pdf"]
    assert {f.file for f in landing.files} == {"nonimmigrant-visa-statistics.html", "annual-reports.html",
                                               "FYs97-24_NIVDetailTable.xlsx", "FY22_TableIII.pdf", "FY2023_AR_TableIII.pdf"}
    live = sd.parse_landings([landing], ("HND",), 2000, 2030)
    assert _kpi_nonimmigrant(live, "HND", 2024) == 78_163
    assert sorted(live[sd.IV_DATASET].total) == [3_879, 7_601]


def test_live_fetch_takes_explicit_urls_from_the_environment(tmp_path, httpserver):
    httpserver.expect_request("/files/niv.xlsx").respond_with_data(WORKBOOK.read_bytes())
    httpserver.expect_request("/files/t3.pdf").respond_with_data((TABLE_III_LANDING / "FY00_Table_III.pdf").read_bytes())
    fetcher, writer = _live_fetcher(tmp_path, httpserver)
    env = {sd.NIV_WORKBOOK_URL_ENV: httpserver.url_for("/files/niv.xlsx"), sd.TABLE_III_URLS_ENV: httpserver.url_for("/files/t3.pdf")}
    sd.fetch(fetcher, httpserver.url_for("/").rstrip("/"), 2000, env=env)
    assert {f.file for f in writer.finish().files} == {"niv.xlsx", "t3.pdf"}  # no index page fetched


def test_live_fetch_of_an_html_challenge_instead_of_the_workbook_fails_naming_the_url(tmp_path, httpserver):
    httpserver.expect_request(sd.NIV_INDEX_PATH).respond_with_data(_index_page(WORKBOOK_PATH), content_type="text/html")
    httpserver.expect_request(WORKBOOK_PATH).respond_with_data(
        "<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>Checking your browser</body></html>",
        content_type="text/html")
    fetcher, _ = _live_fetcher(tmp_path, httpserver)
    with pytest.raises(SourceFormatError) as failure:
        sd.fetch(fetcher, httpserver.url_for("/").rstrip("/"), 2000, env={})
    assert failure.value.location == httpserver.url_for(WORKBOOK_PATH)
    assert "HTML page" in failure.value.problem and "xlsx file was expected" in failure.value.problem


def test_index_page_without_the_workbook_link_fails():
    with pytest.raises(SourceFormatError, match="no link to a '...NIVDetailTable.xlsx'"):
        sd.newest_workbook_link(sd.page_links(_index_page("/a/other.xlsx")), "https://travel.state.gov/index.html")


def test_link_helpers():
    assert sd.fiscal_year_of_file_name("FY04tableIII.pdf") == 2004
    assert sd.fiscal_year_of_file_name("FY2000 table III.pdf") == 2000
    assert sd.fiscal_year_of_file_name("FY17AnnualReport-TableIII.pdf") == 2017
    assert sd.rebase_url("https://travel.state.gov/content/x.pdf?a=1", "http://localhost:1234") == "http://localhost:1234/content/x.pdf?a=1"
    links = ["/a/FY11AnnualReport-Table%20III.pdf", "/a/FY11AnnualReport-TableII.pdf", "/a/FY99_Table_III.pdf"]
    assert sd.table_iii_links(links, 2000, "x") == ["/a/FY11AnnualReport-Table%20III.pdf"]


# ----------------------------------------------------------------------------- where each value is (kpi_lineage)

def test_each_row_names_its_archived_file_and_cell_or_page(frames):
    """NIV rows name the class cell and the Grand Total cell (checked with openpyxl, not the parser's
    calamine); Table III rows the page whose text (pypdf, page by page) holds the row's line."""
    import re

    from pypdf import PdfReader

    niv, iv = frames[sd.NIV_DATASET], frames[sd.IV_DATASET]
    assert set(niv.source_file) == {"state_dept/niv-detail-table-fy97-fy24/FYs97-24_NIVDetailTable.xlsx"}
    workbook = openpyxl.load_workbook(WORKBOOK, data_only=True)
    honduras_2019 = niv[(niv.country_iso3 == "HND") & (niv.fiscal_year == 2019)]
    for row in honduras_2019.itertuples():
        for location, value, text in ((row.source_location, row.issuances, row.original_text),
                                      (row.grand_total_location, row.nationality_grand_total, row.grand_total_text)):
            sheet, cell = re.fullmatch(r"sheet=(.*);cell=([A-Z]+\d+)", location).groups()
            assert workbook[sheet][cell].value == value and text == str(value), location
    assert set(honduras_2019.grand_total_location) == {"sheet=FY19;cell=CI178"}
    [honduras] = iv[(iv.country_iso3 == "HND") & (iv.fiscal_year == 2019)].to_dict("records")
    assert (honduras["source_location"], honduras["original_text"]) == ("page=5", "Honduras 4,390 15 1,598 28 14 6,045")
    page = PdfReader(TABLE_III_LANDING / "FY19_Table_III.pdf").pages[4].extract_text()
    assert honduras["original_text"] in [line.strip() for line in page.splitlines()]
    assert iv.source_location.str.fullmatch(r"page=\d+").all() and iv.file_sha256.notna().all()
