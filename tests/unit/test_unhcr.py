"""UNHCR population statistics (orchestration/sources/unhcr/) on the bundled API pages (the refugees
package 2025.12.1 data), and the live client against a local server paging them."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from werkzeug import Request, Response

from orchestration.config import load_settings
from orchestration.core.errors import SourceFormatError
from orchestration.core.settings import Settings
from orchestration.sources import unhcr
from orchestration.fetch.archive import LandingWriter, list_landings
from orchestration.fetch.http import LiveFetcher, http_session
from orchestration.check.validation import validate_frame

SNAPSHOT = Path(__file__).resolve().parents[2] / "snapshot"
COUNTRIES = ("HND", "GTM", "SLV", "NIC", "MEX")


@pytest.fixture(scope="module")
def settings() -> Settings:
    return load_settings({})


@pytest.fixture(scope="module")
def landing():
    [landing] = list_landings(SNAPSHOT, unhcr.SOURCE)
    return landing


@pytest.fixture(scope="module")
def frames(landing, settings) -> dict[str, pd.DataFrame]:
    return unhcr.SPEC.parse([landing], settings)


def _by_origin(frames, country: str) -> pd.DataFrame:
    population = frames[unhcr.POPULATION]
    return population[population.origin_iso3 == country].groupby("year")[["refugees", "asylum_seekers"]].sum()


def _own_row_idps(frames, country: str) -> pd.Series:
    population = frames[unhcr.POPULATION]
    own = population[(population.origin_iso3 == country) & (population.asylum_iso3 == country)]
    return own.set_index("year")["idps"]


# ---------------------------------------------------------------- acceptance figures


def test_hnd_stocks_by_origin_sum_the_countries_of_asylum(frames):
    hnd = _by_origin(frames, "HND")
    assert hnd.loc[2024, "asylum_seekers"] == 237_701
    assert hnd.loc[2024, "refugees"] == 100_969
    assert hnd.loc[2000, "refugees"] == 904
    assert hnd.loc[1999, "refugees"] == 1_066  # the input year before the first published year


def test_unhcr_idps_come_from_the_origins_own_row_and_idmc_stays_apart(frames):
    idps = _own_row_idps(frames, "HND")
    assert idps[2025] == 423_845
    assert idps[2024] == 247_090
    assert 2014 not in idps.index  # UNHCR published no IDP row for HND before 2015: missing, not zero
    idmc = frames[unhcr.IDMC]
    assert idmc[(idmc.origin_iso3 == "HND")].set_index("year")["idps"][2024] == 101_000


def test_asylum_figures_in_the_usa_keep_their_unit(frames):
    applications = frames[unhcr.APPLICATIONS]
    uscis = applications[(applications.origin_iso3 == "HND") & (applications.authority_level == "IN")].set_index("year")
    assert (uscis.loc[2020, "count_unit"], uscis.loc[2020, "applied"]) == ("cases", 5_705)
    assert (uscis.loc[2021, "count_unit"], uscis.loc[2021, "applied"]) == ("persons", 7_073)
    assert set(applications.asylum_iso3) == {"USA"}
    decisions = frames[unhcr.DECISIONS]
    courts = decisions[(decisions.origin_iso3 == "HND") & (decisions.authority_level == "EO")].set_index("year")
    assert courts.loc[2024, "dec_total"] == 18_191


def test_a_count_the_publisher_does_not_give_stays_missing(frames):
    population = frames[unhcr.POPULATION]
    assert population["oip"].isna().all()  # empty for these origins in the package
    assert str(population["refugees"].dtype) == "Int64"


def test_every_suite_passes_on_the_snapshot(frames):
    for name, frame in {**frames, **unhcr.SPEC.check_frames(frames)}.items():
        report = validate_frame(name, frame)
        assert report.success, report.message()


def test_shifted_decision_columns_fail_the_reconciliation(frames):
    decisions = frames[unhcr.DECISIONS].copy()
    decisions["dec_total"] = decisions["dec_rejected"]
    report = validate_frame(unhcr.CHECK_DECISION_TOTALS, unhcr.decision_totals(decisions))
    assert not report.success


# ---------------------------------------------------------------- parsing rules


@pytest.mark.parametrize(("value", "expected"), [(5, 5), ("12", 12), (3.0, 3), (None, None), ("-", None), ("", None)])
def test_counts(value, expected):
    assert unhcr.parse_count(value, "x") == expected


@pytest.mark.parametrize("value", ["1,234", -5, 2.5, True, "n/a"])
def test_bad_counts_are_errors(value):
    with pytest.raises(ValueError):
        unhcr.parse_count(value, "HND 2024 refugees")


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"<!DOCTYPE html><html>Just a moment</html>", "HTML page"),
        (b'{"message": "Invalid parameter coo"}', "the API said: Invalid parameter coo"),
        (b'{"page": 1, "items": []}', "no whole-number 'maxPages'"),
        (b'{"page": 1, "maxPages": 1, "items": [', "not valid JSON"),
    ],
)
def test_bad_pages_name_the_problem(body, problem):
    with pytest.raises(SourceFormatError, match=problem):
        unhcr.parse_page(body, "https://api.example/population/")


def _rewritten(tmp_path, landing, change) -> list:
    """A copy of the snapshot landing with ``change(file_name, payload)`` applied to each page."""
    writer = LandingWriter(tmp_path, unhcr.SOURCE, fetch_id="copy", metadata=landing.metadata)
    for landed in landing.files:
        payload = json.loads(landed.read_bytes())
        payload = change(landed.file, payload)
        if payload is not None:
            writer.add(landed.file, json.dumps(payload).encode(), url=landed.url)
    return [writer.finish()]


def test_a_missing_page_fails_the_landing(tmp_path, landing, settings):
    def claim_two_pages(name, payload):
        return {**payload, "maxPages": 2} if name == "population__HND__p001.json" else payload
    with pytest.raises(SourceFormatError, match=r"population\?.*coo=HND.*: page\(s\) \[2\] of 2 missing"):
        unhcr.SPEC.parse(_rewritten(tmp_path, landing, claim_two_pages), settings)


def test_a_landing_without_a_vintage_is_refused(tmp_path, landing, settings):
    writer = LandingWriter(tmp_path, unhcr.SOURCE, fetch_id="no-vintage")
    first = landing.files[0]
    writer.add(first.file, first.read_bytes(), url=first.url)
    with pytest.raises(SourceFormatError, match="manifest metadata has no vintage"):
        unhcr.SPEC.parse([writer.finish()], settings)


# ---------------------------------------------------------------- live fetch


class PagingApi:
    """Serves the snapshot's items per endpoint and origin, the population in two pages."""

    def __init__(self, landing):
        self.items = {}
        for landed in landing.files:
            endpoint, origin, _ = landed.file.split("__")
            self.items[(endpoint, origin)] = json.loads(landed.read_bytes())["items"]
        self.requests: list[str] = []

    def __call__(self, request: Request) -> Response:
        endpoint = request.path.strip("/").rsplit("/", 1)[-1]
        origin, page = request.args["coo"], int(request.args["page"])
        self.requests.append(f"{endpoint}:{origin}:{page}")
        items = self.items[(endpoint, origin)]
        half = -(-len(items) // 2)  # as an API pages: every page full but the last
        pages = [items[:half], items[half:]] if endpoint == "population" else [items]
        body = {"page": page, "maxPages": len(pages), "total": [], "items": pages[page - 1]}
        return Response(json.dumps(body), content_type="application/json")


def test_live_fetch_follows_every_page_and_parses_like_replay(httpserver, tmp_path, landing, settings, frames):
    api = PagingApi(landing)
    for endpoint in unhcr.ENDPOINT_ORDER:
        httpserver.expect_request(f"/population/v1/{endpoint}/").respond_with_handler(api)
    writer = LandingWriter(tmp_path, unhcr.SOURCE, licence=unhcr.LICENCE)
    base = httpserver.url_for("/population/v1")
    fetcher = LiveFetcher(unhcr.SOURCE, writer, http_session(), base, 5, 0)
    writer.metadata.update(unhcr.fetch(fetcher, base, COUNTRIES, 1999, 2025))
    live_landing = writer.finish()
    assert "population:HND:2" in api.requests and len(live_landing.files) == 25  # 5 origins x (2 + 1 + 1 + 1)
    assert live_landing.metadata["vintage"] == pd.Timestamp.now("UTC").date().isoformat()
    request = next(r for r, _ in httpserver.log if r.path.endswith("/population/"))
    assert request.args["coa_all"] == "true" and request.args["cf_type"] == "ISO"
    live = unhcr.SPEC.parse([live_landing], settings)
    for dataset, replay in frames.items():
        # live pages are split and named otherwise: where a value sits differs, the values do not
        columns = [c for c in replay.columns if c not in ("source_url", "fetch_id", "vintage", "source_file", "file_sha256", "source_location")]
        ordered = lambda frame: frame[columns].sort_values(columns).reset_index(drop=True)  # noqa: E731
        pd.testing.assert_frame_equal(ordered(live[dataset]), ordered(replay))
