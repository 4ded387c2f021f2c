"""ForeignAssistance.gov: Country Summary releases and the API by USG sector, on the real snapshot files."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json

import pandas as pd
import pytest

from orchestration.config import load_settings
from orchestration.core.errors import SourceFormatError
from orchestration.core.settings import PROJECT_ROOT, Settings
from orchestration.sources import foreign_assistance as fa
from orchestration.fetch.acquire import acquire_landings
from orchestration.fetch.archive import LandingWriter, list_landings

SNAPSHOT = PROJECT_ROOT / "snapshot"
EARLIER_RELEASE = dt.date(2025, 4, 2)
LATER_RELEASE = dt.date(2025, 11, 29)
SECTOR_RELEASE = dt.date(2026, 9, 30)
COUNTRIES = ("HND", "GTM", "SLV", "NIC", "MEX")


def _landed(fetch_id_prefix: str, name_prefix: str):
    landing = next(l for l in list_landings(SNAPSHOT, fa.SOURCE) if l.fetch_id.startswith(fetch_id_prefix))
    return landing, next(f for f in landing.files if f.file.startswith(name_prefix))


@pytest.fixture(scope="module")
def settings() -> Settings:
    return load_settings({})


@pytest.fixture(scope="module")
def frames(settings) -> dict[str, pd.DataFrame]:
    return fa.SPEC.parse(list_landings(SNAPSHOT, fa.SOURCE), settings)


@pytest.fixture(scope="module")
def later_summary_bytes() -> bytes:
    return _landed("2-", "us_foreign_aid_country")[1].read_bytes()


@pytest.fixture(scope="module")
def sector_rows() -> list[dict]:
    body = _landed("3-", "fa_api_by_usg_sector")[1].read_bytes().decode()
    return list(csv.DictReader(io.StringIO(body)))


def _amount(frame, country, type_name, year, vintage):
    rows = frame[(frame.country_iso3 == country) & (frame.transaction_type_name == type_name)
                 & (frame.fiscal_year == year) & (frame.vintage == vintage)]
    assert len(rows) == 1
    return int(rows.current_amount.iloc[0])


def _parse_summary(body: bytes) -> pd.DataFrame:
    return fa.parse_country_summary(body, "test.csv", COUNTRIES, 2000, LATER_RELEASE, "https://x/test.csv", "fetch")


# ---------------------------------------------------------------- acceptance figures and vintages


def test_acceptance_obligations_come_from_the_later_country_summary(frames):
    summary = frames["foreign_assistance_country_summary"]
    latest = fa.latest_vintage(summary, ["country_iso3", "transaction_type_id", "fiscal_year"])
    hnd = latest[(latest.country_iso3 == "HND") & (latest.transaction_type_name == "Obligations")].set_index("fiscal_year")
    assert hnd.loc[2023, "current_amount"] == 193_899_278
    assert hnd.loc[2024, "current_amount"] == 193_486_733
    assert hnd.loc[2010, "current_amount"] == 39_710_427
    assert set(hnd.loc[[2010, 2023, 2024], "vintage"]) == {LATER_RELEASE}


def test_earlier_release_is_kept_as_a_revision(frames):
    summary = frames["foreign_assistance_country_summary"]
    assert _amount(summary, "HND", "Obligations", 2024, EARLIER_RELEASE) == 172_594_290
    assert _amount(summary, "HND", "Obligations", 2023, EARLIER_RELEASE) == 193_945_833
    assert set(summary.vintage) == {EARLIER_RELEASE, LATER_RELEASE}


def test_earlier_release_holds_every_country_but_only_the_configured_ones_are_loaded(frames):
    summary = frames["foreign_assistance_country_summary"]
    assert set(summary.country_iso3) == set(COUNTRIES)
    # from FY1999: the input year before the first published year (issue 14), one Obligations row per country
    assert summary.fiscal_year.min() == 1999
    assert len(summary[summary.fiscal_year == 1999]) == 2 * len(COUNTRIES)
    # the same five countries, years and types in both releases
    per_release = summary.groupby("vintage").size()
    assert per_release[EARLIER_RELEASE] == per_release[LATER_RELEASE] == 423 + len(COUNTRIES)


def test_constant_dollar_base_year_differs_between_releases(frames):
    summary = frames["foreign_assistance_country_summary"]
    assert summary.groupby("vintage").constant_dollars_base_year.unique().map(list).to_dict() == {
        EARLIER_RELEASE: [2023], LATER_RELEASE: [2024]}
    later = summary[(summary.vintage == LATER_RELEASE) & (summary.fiscal_year == 2024) & summary.transaction_type_id.isin([2, 3])]
    assert (later.current_amount == later.constant_amount).all()


def test_negative_amount_is_kept_as_published(frames):
    summary = frames["foreign_assistance_country_summary"]
    assert _amount(summary, "NIC", "Obligations", 2010, LATER_RELEASE) == -14_525_167
    assert (frames["foreign_assistance_usg_sector_amounts"].current_amount < 0).sum() == 108


# ---------------------------------------------------------------- quirks


def test_both_header_styles_parse_the_same(later_summary_bytes):
    header, rest = later_summary_bytes.split(b"\n", 1)
    snake_case = b",".join(name.strip().lower().replace(b" ", b"_") for name in header.split(b",")) + b"\n" + rest
    quoted_title_case = b",".join(b'"' + name.strip() + b'"' for name in header.split(b",")) + b"\r\n" + rest.replace(b"\n", b"\r\n")
    assert snake_case.startswith(b"country_code,country_name,region_id,")
    expected = _parse_summary(later_summary_bytes)
    pd.testing.assert_frame_equal(_parse_summary(snake_case), expected)
    pd.testing.assert_frame_equal(_parse_summary(quoted_title_case), expected)
    assert fa.normalise_header(['"Country Code"'.strip('"'), "fiscal_year", " Fiscal Year "]) == ["country_code", "fiscal_year", "fiscal_year"]


def test_fiscal_year_is_text_with_the_transition_quarter():
    assert fa.parse_fiscal_year("2024", "x") == (2024, False)
    assert fa.parse_fiscal_year("1976tq", "x") == (1976, True)
    assert fa.parse_fiscal_year(" 1976TQ ", "x") == (1976, True)
    for bad in ("FY2024", "2024.0", "", "76tq"):
        with pytest.raises(SourceFormatError, match="neither YYYY nor YYYYtq"):
            fa.parse_fiscal_year(bad, "x")


def test_real_file_with_a_transition_quarter_parses_and_keeps_it_out(later_summary_bytes):
    assert b",1976tq," in later_summary_bytes
    parsed = fa.parse_country_summary(later_summary_bytes, "x", COUNTRIES, 1970, LATER_RELEASE, "u", "f")
    assert "1976tq" not in set(parsed.fiscal_year_label)
    assert {"1976", "1977"} <= set(parsed.fiscal_year_label)


def test_partial_years_follow_the_release_date(frames):
    assert fa.is_partial_year(2026, SECTOR_RELEASE) and not fa.is_partial_year(2025, SECTOR_RELEASE)
    assert fa.is_partial_year(2025, LATER_RELEASE) and not fa.is_partial_year(2024, LATER_RELEASE)
    assert fa.is_partial_year(2024, EARLIER_RELEASE) and not fa.is_partial_year(2023, EARLIER_RELEASE)
    sectors = frames["foreign_assistance_usg_sector_amounts"]
    assert set(sectors[sectors.is_partial_year].fiscal_year) == {2026}
    summary = frames["foreign_assistance_country_summary"]
    assert set(summary[summary.is_partial_year & (summary.vintage == LATER_RELEASE)].fiscal_year) == {2025}
    assert set(summary[summary.is_partial_year & (summary.vintage == EARLIER_RELEASE)].fiscal_year) == {2024, 2025}


def test_release_date_comes_from_the_snapshot_metadata():
    landing, landed = _landed("3-", "fa_api_by_usg_sector")
    assert fa.release_date(landed, landing) == SECTOR_RELEASE
    with_header = dataclasses.replace(landed, last_modified="Tue, 30 Sep 2025 12:00:00 GMT")
    assert fa.release_date(with_header, landing) == dt.date(2025, 9, 30)


def test_sector_taxonomy_and_known_ids(frames):
    sectors = frames["foreign_assistance_usg_sectors"]
    assert len(sectors) == 52 and sectors.usg_category_id.nunique() == 9
    amounts = frames["foreign_assistance_usg_sector_amounts"]
    assert set(amounts.country_iso3) == {"HND", "GTM"} and len(amounts) == 2871
    assert set(amounts.usg_sector_id) <= set(sectors.usg_sector_id)


# ---------------------------------------------------------------- the two sources held together


def test_every_suite_passes_on_the_snapshot(frames):
    from orchestration.check.validation import validate_frame

    for name, frame in {**frames, **fa.SPEC.check_frames(frames)}.items():
        report = validate_frame(name, frame)
        assert report.success, report.message()


def test_suite_rejects_a_negative_budget_request(frames):
    from orchestration.check.validation import validate_frame

    summary = frames["foreign_assistance_country_summary"].copy()
    summary.loc[summary.transaction_type_id == 18, "current_amount"] *= -1
    report = validate_frame("foreign_assistance_country_summary", summary)
    assert not report.success and "current_amount" in report.message()


# ---------------------------------------------------------------- bad inputs


def test_html_instead_of_the_csv_raises():
    with pytest.raises(SourceFormatError, match="HTML page"):
        _parse_summary(b"<!DOCTYPE html><html><body>Just a moment...</body></html>")


def test_truncated_csv_raises(later_summary_bytes):
    with pytest.raises(SourceFormatError, match="truncated"):
        _parse_summary(later_summary_bytes[: len(later_summary_bytes) // 2])


def test_renamed_header_raises(later_summary_bytes):
    renamed = later_summary_bytes.replace(b"Fiscal Year", b"FY", 1)
    with pytest.raises(SourceFormatError, match=r"lacks column\(s\) \['fiscal_year'\]"):
        _parse_summary(renamed)


def test_unknown_transaction_type_and_fractional_amount_raise(later_summary_bytes):
    with pytest.raises(SourceFormatError, match="unknown transaction type id 7"):
        _parse_summary(later_summary_bytes.replace(b",2,Obligations,", b",7,Obligations,", 1))
    with pytest.raises(SourceFormatError, match="transaction type 2 is named 'Commitments'"):
        _parse_summary(later_summary_bytes.replace(b",2,Obligations,", b",2,Commitments,", 1))
    with pytest.raises(SourceFormatError, match="not a whole number"):
        _parse_summary(later_summary_bytes.replace(b",56467000,", b",56467000.5,", 1))


def test_unknown_sector_raises(sector_rows):
    bad = [dict(row) for row in sector_rows[:3]]
    frame = fa.sector_rows_frame(bad, "x", COUNTRIES, 2000, SECTOR_RELEASE, "u", "f")
    taxonomy = fa.taxonomy_frame([{**bad[0], "usg_sector_id": "99"}], "x", SECTOR_RELEASE, "f")
    with pytest.raises(SourceFormatError, match="not in the sector taxonomy"):
        fa.check_sectors_known(frame, taxonomy, "x")


# ---------------------------------------------------------------- live fetch against a local server


def _api_rows(sector_rows: list[dict], fiscal_year: int) -> list[dict]:
    """Snapshot rows in the API's JSON shape (fiscal_year text, amounts and ids numbers, a row id)."""
    return [
        {"id": index, "country_code": r["country_code"], "country_name": r["country_name"],
         "usg_category_id": int(r["usg_category_id"]), "usg_category_name": r["usg_category_name"],
         "usg_sector_id": int(r["usg_sector_id"]), "usg_sector_name": r["usg_sector_name"],
         "transaction_type_id": int(r["transaction_type_id"]), "fiscal_year": r["fiscal_year"],
         "current_amount": int(r["current_amount"])}
        for index, r in enumerate(sector_rows) if int(r["fiscal_year"]) == fiscal_year
    ]


def _page(rows: list[dict], page: int, pages: int, total: int) -> dict:
    return {"data": rows, "page_info": {"current_page": page, "total_pages": pages, "total_records": total}}


def _serve(httpserver, later_summary_bytes, sector_rows, serve_second_page=True):
    httpserver.expect_request("/files/us_foreign_aid_country.csv").respond_with_data(later_summary_bytes, content_type="text/csv")
    fy2024 = _api_rows(sector_rows, 2024)
    half = len(fy2024) // 2
    query = {"fiscal_year": "2024", "per_page": str(fa.PER_PAGE)}
    httpserver.expect_request(fa.SECTOR_API_PATH, query_string={**query, "page": "1"}).respond_with_json(_page(fy2024[:half], 1, 2, len(fy2024)))
    if serve_second_page:
        httpserver.expect_request(fa.SECTOR_API_PATH, query_string={**query, "page": "2"}).respond_with_json(_page(fy2024[half:], 2, 2, len(fy2024)))
    fy2025 = _api_rows(sector_rows, 2025)
    httpserver.expect_request(fa.SECTOR_API_PATH, query_string={"fiscal_year": "2025", "per_page": str(fa.PER_PAGE), "page": "1"}
                              ).respond_with_json(_page(fy2025, 1, 1, len(fy2025)))


def _fetch(httpserver, tmp_path, monkeypatch, settings):
    csv_url = httpserver.url_for("/files/us_foreign_aid_country.csv")
    window = settings.replace(first_year=2024, last_year=2024, foreign_assistance_country_summary_url=csv_url,
                              foreign_assistance_base_url=httpserver.url_for("/").rstrip("/"))  # fiscal years 2024 and 2025
    [landing] = acquire_landings(fa.SOURCE, "live", tmp_path / "snapshot", tmp_path, lambda fetcher: fa.fetch(fetcher, window),
                                 base_url=httpserver.url_for("/"), licence=fa.LICENCE, timeout_seconds=5, retries=0, backoff_factor=0)
    return landing, window


def test_live_fetch_follows_every_page_and_parses_like_replay(httpserver, tmp_path, monkeypatch, settings, later_summary_bytes, sector_rows):
    _serve(httpserver, later_summary_bytes, sector_rows)
    landing, window = _fetch(httpserver, tmp_path, monkeypatch, settings)
    assert sorted(f.file for f in landing.files) == [
        "by-usg-sector__fy2024__p001.json", "by-usg-sector__fy2024__p002.json", "by-usg-sector__fy2025__p001.json",
        "us_foreign_aid_country.csv"]
    parsed = fa.SPEC.parse(list_landings(tmp_path, fa.SOURCE), window)
    amounts = parsed["foreign_assistance_usg_sector_amounts"]
    hnd_2024 = amounts[(amounts.country_iso3 == "HND") & (amounts.fiscal_year == 2024)]
    assert hnd_2024.groupby("transaction_type_name").current_amount.sum().to_dict() == {
        "Obligations": 193_486_732, "Disbursements": 223_717_479}
    assert set(amounts.fiscal_year) == {2024, 2025}
    assert len(parsed["foreign_assistance_usg_sectors"]) == amounts.usg_sector_id.nunique()
    summary = parsed["foreign_assistance_country_summary"]
    assert _amount(summary, "HND", "Obligations", 2024, summary.vintage.iloc[0]) == 193_486_733
    for request, _ in httpserver.log:
        assert request.headers["User-Agent"].startswith("kpi-warehouse/")


def test_live_fetch_fails_on_a_missing_page(httpserver, tmp_path, monkeypatch, settings, later_summary_bytes, sector_rows):
    _serve(httpserver, later_summary_bytes, sector_rows, serve_second_page=False)
    with pytest.raises(Exception, match=r"page=2"):
        _fetch(httpserver, tmp_path, monkeypatch, settings)


def test_landing_with_a_page_missing_is_rejected(tmp_path, sector_rows):
    writer = LandingWriter(tmp_path, fa.SOURCE)
    fy2024 = _api_rows(sector_rows, 2024)
    url = fa.sector_api_url("https://foreignassistance.gov", 2024, 1)
    writer.add(fa.sector_page_file_name(2024, 1), json.dumps(_page(fy2024[:10], 1, 2, len(fy2024))).encode(), url)
    landing = writer.finish()
    with pytest.raises(SourceFormatError, match=r"page\(s\) \[2\] of 2 missing"):
        fa.parse_landing(landing, COUNTRIES, 2000)


def test_page_totals_must_match_the_rows_received():
    pages = {1: ({"current_page": 1, "total_pages": 1, "total_records": 5}, [{}] * 4)}
    with pytest.raises(SourceFormatError, match="pages hold 4 rows but the header.s total_records is 5"):
        fa.check_pages_complete(pages, "q")


def test_api_error_body_raises():
    with pytest.raises(SourceFormatError, match="unexpected JSON shape"):
        fa.parse_sector_page(b'{"error": "Too many requests"}', "u")


# ---------------------------------------------------------------- issue 18: paging, fiscal years, undated releases


def _api_landing(tmp_path, pages: list[tuple[int, dict]]):
    writer = LandingWriter(tmp_path, fa.SOURCE)
    for page, body in pages:
        writer.add(fa.sector_page_file_name(2024, page), json.dumps(body).encode(),
                   fa.sector_api_url("https://foreignassistance.gov", 2024, page))
    return writer.finish()


def test_an_api_page_repeating_another_is_rejected_naming_its_url(tmp_path, sector_rows):
    fy2024 = _api_rows(sector_rows, 2024)[:10]
    landing = _api_landing(tmp_path, [(1, _page(fy2024, 1, 2, 20)), (2, _page(fy2024, 2, 2, 20))])
    with pytest.raises(SourceFormatError, match=r"fiscal_year=2024&per_page=1000&page=2 \(archived as .*\): page 2 repeats the rows of page 1"):
        fa.parse_landing(landing, COUNTRIES, 2000)


def test_an_api_row_for_another_fiscal_year_is_rejected(tmp_path, sector_rows):
    rows = _api_rows(sector_rows, 2024)[:10]
    rows[3] = {**rows[3], "fiscal_year": "2023"}
    landing = _api_landing(tmp_path, [(1, _page(rows, 1, 1, 10))])
    with pytest.raises(SourceFormatError, match="page 1 row 3 is for fiscal year '2023', but fiscal year 2024 was requested"):
        fa.parse_landing(landing, COUNTRIES, 2000)


def test_api_pages_that_disagree_on_the_totals_are_rejected():
    pages = {1: ({"current_page": 1, "total_pages": 2, "total_records": 3}, [{"id": 1}, {"id": 2}]),
             2: ({"current_page": 2, "total_pages": 2, "total_records": 4}, [{"id": 3}])}
    with pytest.raises(SourceFormatError, match="page 2 says total_records 4, page 1 said 3"):
        fa.check_pages_complete(pages, "q")


def test_a_file_without_a_date_is_dated_by_its_bytes_not_the_fetch(later_summary_bytes):
    landing, landed = _landed("2-", "us_foreign_aid_country")
    undated = dataclasses.replace(landed, last_modified=None, fetched_at="2027-01-01T00:00:00+00:00")
    no_metadata = dataclasses.replace(landing, metadata={})
    assert fa.release_date(undated, no_metadata, {landed.sha256: LATER_RELEASE}) == LATER_RELEASE
    with pytest.raises(SourceFormatError, match="cannot tell the release date"):
        fa.release_date(undated, no_metadata, {})  # the fetch time alone never dates a release
