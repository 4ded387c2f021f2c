"""The live World Bank client against a real local HTTP server serving real-format API pages."""

from __future__ import annotations

import json
import time

import pytest
from werkzeug import Request, Response

from orchestration.config import load_settings
from orchestration.core.errors import SourceFetchError, SourceFormatError
from orchestration.core.settings import Settings
from orchestration.sources import worldbank
from orchestration.fetch.acquire import acquire_landings
from orchestration.fetch.archive import list_landings
from tests.conftest import SNAPSHOT_DIR, warehouse_env

PAGE_SIZE = 10


@pytest.fixture(scope="module")
def hnd_series() -> dict[str, tuple[dict, list]]:
    """indicator -> (header, rows) from the bundled HND file (vintage 2026-04-08)."""
    landing = next(l for l in list_landings(SNAPSHOT_DIR, worldbank.SOURCE) if "API_HND_DS2_es" in l.fetch_id)
    series = {}
    for landed in landing.files:
        header, rows = worldbank.parse_page(landed.read_bytes(), landed.url)
        series[rows[0]["indicator"]["id"]] = (header, rows)
    return series


class FakeWorldBank:
    """Serves /country/HND/indicator/<id> in pages of PAGE_SIZE rows, as the API does."""

    def __init__(self, series):
        self.series = series
        self.calls: list[str] = []
        self.faults: dict[str, list] = {}  # indicator -> queue of faults for its next calls

    def __call__(self, request: Request) -> Response:
        indicator = request.path.rsplit("/", 1)[-1]
        page = int(request.args.get("page", "1"))
        self.calls.append(f"{indicator}:{page}")
        queue = self.faults.get(indicator)
        if queue:
            fault = queue.pop(0)
            if isinstance(fault, Response):
                return fault
            if fault == "sleep":
                time.sleep(0.8)
        header, rows = self.series[indicator]
        pages = max(1, -(-len(rows) // PAGE_SIZE))
        body = [{**header, "page": page, "pages": pages, "per_page": PAGE_SIZE, "total": len(rows)},
                rows[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]]
        return Response(json.dumps(body), content_type="application/json;charset=utf-8")


@pytest.fixture
def api(httpserver, hnd_series):
    fake = FakeWorldBank(hnd_series)
    httpserver.expect_request(__import__("re").compile(r"^/v2/country/HND/indicator/.+")).respond_with_handler(fake)
    return fake


def _settings(tmp_path, httpserver, **overrides) -> Settings:
    env = warehouse_env(tmp_path, KPI_SOURCE_MODE="live", KPI_COUNTRIES="HND",
                        KPI_WORLDBANK_BASE_URL=httpserver.url_for("/v2"), **overrides)
    return load_settings(env)


def _fetch(settings: Settings):
    return acquire_landings(
        worldbank.SOURCE, settings.source_mode, settings.snapshot_dir, settings.landing_dir,
        lambda fetcher: worldbank.SPEC.fetch(fetcher, settings),
        base_url=settings.worldbank_base_url, licence=worldbank.LICENCE,
        timeout_seconds=settings.http_timeout_seconds, retries=settings.http_retries,
        backoff_factor=settings.http_backoff_factor,
    )


def test_follows_every_page_and_archives_each(tmp_path, httpserver, api, hnd_series):
    settings = _settings(tmp_path, httpserver)
    [landing] = _fetch(settings)
    pages_per_indicator = {i: -(-len(rows) // PAGE_SIZE) for i, (_, rows) in hnd_series.items()}
    assert len(landing.files) == sum(pages_per_indicator.values())
    assert max(pages_per_indicator.values()) >= 3  # the test really pages
    manifest = json.loads((landing.path / "manifest.json").read_text())
    assert manifest["complete"] is True
    assert all(entry["status"] == 200 and len(entry["sha256"]) == 64 for entry in manifest["entries"])
    assert landing.path.parent == settings.landing_dir / "worldbank"

    frame = worldbank.SPEC.parse([landing], settings)["worldbank_indicator_values"]
    homicides = frame[frame.indicator_id == "VC.IHR.PSRC.P5"].set_index("year")["value"]
    assert homicides[2023] == pytest.approx(31.4424316507577)
    assert 2024 not in homicides.index  # null in the API: missing, not zero
    # from 1999: the input year before the first published year is loaded too (issue 14)
    published = [r for r in hnd_series["VC.IHR.PSRC.P5"][1] if r["value"] is not None and int(r["date"]) >= 1999]
    assert len(homicides) == len(published)


def test_error_body_with_http_200_fails_clearly_and_stays_archived(tmp_path, httpserver, api):
    error = [{"message": [{"id": "120", "key": "Invalid value", "value": "The provided parameter value is not valid"}]}]
    api.faults["SL.UEM.TOTL.ZS"] = [Response(json.dumps(error), content_type="application/json")]
    settings = _settings(tmp_path, httpserver)
    with pytest.raises(SourceFormatError) as failure:
        _fetch(settings)
    message = str(failure.value)
    assert message.startswith("[worldbank] http://") and "SL.UEM.TOTL.ZS" in message and "error body: id 120" in message
    assert list_landings(settings.landing_dir, "worldbank") == []  # incomplete: never loaded
    [fetch_dir] = (settings.landing_dir / "worldbank").iterdir()
    manifest = json.loads((fetch_dir / "manifest.json").read_text())
    assert manifest["complete"] is False and "error body" in manifest["error"]
    assert any("SL.UEM.TOTL.ZS" in entry["file"] for entry in manifest["entries"])


def test_503_then_success_is_retried(tmp_path, httpserver, api):
    api.faults["SE.PRM.CMPT.ZS"] = [Response("busy", status=503), Response("busy", status=502)]
    [landing] = _fetch(_settings(tmp_path, httpserver))
    assert api.calls.count("SE.PRM.CMPT.ZS:1") == 3
    assert any("SE.PRM.CMPT.ZS" in f.file for f in landing.files)


def test_429_honours_retry_after(tmp_path, httpserver, api):
    api.faults["SP.POP.TOTL"] = [Response("slow down", status=429, headers={"Retry-After": "1"})]
    started = time.monotonic()
    _fetch(_settings(tmp_path, httpserver))
    assert time.monotonic() - started >= 1.0
    assert api.calls.count("SP.POP.TOTL:1") == 2


def test_read_timeout_is_retried(tmp_path, httpserver, api):
    api.faults["SL.TLF.TOTL.IN"] = ["sleep"]
    [landing] = _fetch(_settings(tmp_path, httpserver, KPI_HTTP_TIMEOUT_SECONDS="0.5"))
    assert api.calls.count("SL.TLF.TOTL.IN:1") >= 2  # the first attempt timed out
    assert any("SL.TLF.TOTL.IN" in f.file for f in landing.files)


def test_persistent_503_fails_naming_the_url(tmp_path, httpserver, api):
    api.faults["VC.IHR.PSRC.P5"] = [Response("down", status=503)] * 10
    with pytest.raises(SourceFetchError, match=r"\[worldbank\] http://.*VC\.IHR\.PSRC\.P5.*HTTP 503"):
        _fetch(_settings(tmp_path, httpserver, KPI_HTTP_RETRIES="2"))
    assert api.calls.count("VC.IHR.PSRC.P5:1") == 3


def test_connection_refused_fails_naming_the_url(tmp_path):
    settings = load_settings(warehouse_env(tmp_path, KPI_SOURCE_MODE="live", KPI_COUNTRIES="HND",
                                               KPI_WORLDBANK_BASE_URL="http://127.0.0.1:9/v2", KPI_HTTP_RETRIES="1"))
    with pytest.raises(SourceFetchError, match=r"\[worldbank\] http://127\.0\.0\.1:9/v2/country/HND/indicator/.*request failed"):
        _fetch(settings)


def test_html_challenge_instead_of_json(tmp_path, httpserver, api):
    api.faults["SE.SEC.CMPT.LO.ZS"] = [Response("<!DOCTYPE html><html><title>Just a moment...</title></html>", content_type="text/html")]
    with pytest.raises(SourceFormatError, match="received an HTML page"):
        _fetch(_settings(tmp_path, httpserver))
