from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

import pytest
from werkzeug import Response

from orchestration.core.errors import SourceFetchError, SourceFormatError
from orchestration.fetch.archive import Hop, Landing, LandingWriter, archived_release_dates, list_landings, prune_identical_refetches, read_landing, refetches_to_prune, safe_file_name, sha256_bytes
from orchestration.fetch.http import MAX_REDIRECTS, LiveFetcher, check_body_kind, http_session
from tests.conftest import REPO_ROOT, SNAPSHOT_DIR


@pytest.mark.parametrize("name", ["../../etc/passwd", "/abs/path.json", "a/b\\c?.json", "..", "x" * 500])
def test_archive_names_cannot_leave_the_landing(tmp_path, name):
    if name == "..":
        with pytest.raises(ValueError):
            safe_file_name(name)
        return
    writer = LandingWriter(tmp_path, "worldbank")
    landed = writer.add(name, b"[]", url="http://example/")
    assert landed.path.parent == writer.path
    assert landed.path.resolve().is_relative_to(tmp_path.resolve())


def test_incomplete_fetch_is_archived_but_never_listed(tmp_path):
    writer = LandingWriter(tmp_path, "worldbank")
    writer.add("p1.json", b"[]", url="http://example/1")
    assert list_landings(tmp_path, "worldbank") == []  # no manifest yet (a crash here)
    writer.finish(complete=False, error="boom")
    assert list_landings(tmp_path, "worldbank") == []
    assert (writer.path / "p1.json").read_bytes() == b"[]"


def test_half_written_file_has_a_partial_name(tmp_path):
    writer = LandingWriter(tmp_path, "cbp")
    writer.add("data.csv", b"a,b\n1,2\n", url="http://example/")
    assert not list(writer.path.glob(".*.partial"))
    landing = writer.finish()
    assert read_landing(landing.path, "cbp").files[0].read_bytes() == b"a,b\n1,2\n"


def test_a_file_changed_after_archiving_is_detected(tmp_path):
    writer = LandingWriter(tmp_path, "cbp")
    writer.add("data.csv", b"a,b\n1,2\n", url="http://example/")
    landing = writer.finish()
    (landing.path / "data.csv").write_bytes(b"a,b\n1,3\n")
    with pytest.raises(SourceFormatError, match="do not match the manifest's sha256"):
        landing.files[0].read_bytes()


def test_bundled_snapshot_manifests_match_their_bytes():
    for source in ("worldbank", "state_dept", "cbp", "foreign_assistance"):
        landings = list_landings(SNAPSHOT_DIR, source)
        assert landings, source
        for landing in landings:
            assert landing.licence
            for landed in landing.files:
                landed.read_bytes()  # raises on a sha256 mismatch


def test_worldbank_snapshot_says_it_was_converted():
    for landing in list_landings(SNAPSHOT_DIR, "worldbank"):
        manifest = json.loads((landing.path / "manifest.json").read_text())
        assert manifest["metadata"]["converted_from"]["file"].startswith("world_bank_wdi/API_")


@pytest.mark.parametrize(
    ("kind", "body", "problem"),
    [
        ("xlsx", b"<html><body>Access denied</body></html>", "HTML page"),
        ("xlsx", b"PK\x03\x04" + b"\0" * 100, "truncated"),
        ("pdf", b"%PDF-1.7\n" + b"x" * 100, "truncated"),
        ("pdf", b"GIF89a", "not a pdf file"),
        ("csv", b"", "empty body"),
        ("json", b"Service Unavailable", "not a json file"),
    ],
)
def test_body_kind_checks(kind, body, problem):
    with pytest.raises(SourceFormatError, match=problem):
        check_body_kind("src", "http://example/file", body, kind)


CSV_FILES = sorted(str(path) for root in (REPO_ROOT / "tests" / "fixtures", SNAPSHOT_DIR) for path in root.rglob("*.csv"))


@pytest.mark.parametrize("path", CSV_FILES, ids=lambda path: path.rsplit("/", 1)[-1])
def test_a_csv_cut_mid_row_is_refused_and_a_whole_or_row_boundary_cut_one_is_not(path):
    """Every real CSV of the snapshot and fixtures: whole, or cut at a row boundary, it passes; cut
    inside its last row (after its first field, or inside a quoted field), it is refused as truncated."""
    body = Path(path).read_bytes()
    check_body_kind("src", path, body, "csv")
    last_line_start = body.rstrip(b"\n").rfind(b"\n") + 1
    check_body_kind("src", path, body[:last_line_start], "csv")  # a cut at a row boundary leaves nothing to see
    first_comma = body.index(b",", last_line_start)
    with pytest.raises(SourceFormatError, match=r"CSV is truncated: its last line has 1 of the header's \d+ fields"):
        check_body_kind("src", path, body[:first_comma], "csv")
    first_quote = body.find(b'"', last_line_start)
    if first_quote >= 0:  # a file that quotes: cut inside the last line's first quoted field
        with pytest.raises(SourceFormatError, match="CSV is truncated: .*ends inside a quoted field"):
            check_body_kind("src", path, body[: first_quote + 2], "csv")


def test_a_long_quoted_csv_cut_inside_a_quoted_field_is_refused_by_its_tail():
    """Longer than the 64 KiB head, a CSV is judged by its tail: the ILOSTAT extract's rows repeated
    past 64 KiB (every text field quoted), cut inside the last row's first quoted field."""
    header, _, rows = (REPO_ROOT / "tests/fixtures/ilostat/EMP_TEMP_SEX_AGE_NB_A_extract_HN_GT.csv").read_bytes().partition(b"\n")
    body = header + b"\n" + rows * (70_000 // len(rows) + 1)
    assert len(body) > 65536
    check_body_kind("src", "ilostat.csv", body, "csv")
    cut = body.rstrip(b"\n").rfind(b"\n") + 3  # inside the last row's first quoted field
    with pytest.raises(SourceFormatError, match="CSV is truncated: its last line ends inside a quoted field"):
        check_body_kind("src", "ilostat.csv", body[:cut], "csv")


def test_fetcher_refuses_other_hosts(tmp_path):
    fetcher = LiveFetcher("worldbank", LandingWriter(tmp_path, "worldbank"), http_session(),
                          "https://api.worldbank.org/v2", timeout_seconds=1, retries=0)
    with pytest.raises(SourceFetchError, match="only fetches from 'api.worldbank.org'"):
        fetcher.get("https://evil.example/steal", "x.json", kind="json")


# ------------------------------------------------------------------ redirects, retries, deadlines (issue 18)


def _fetcher(tmp_path, base_url: str, retries: int = 0, **kwargs) -> LiveFetcher:
    return LiveFetcher("worldbank", LandingWriter(tmp_path, "worldbank"), http_session(), base_url,
                       timeout_seconds=1, retries=retries, backoff_factor=0, **kwargs)


def test_a_redirect_from_https_to_plain_http_is_refused(tmp_path):
    fetcher = _fetcher(tmp_path, "https://api.worldbank.org/v2")
    assert fetcher._redirect_target("u", "https://api.worldbank.org/v2/a", "/v2/b") == "https://api.worldbank.org/v2/b"
    with pytest.raises(SourceFetchError, match="https to plain http"):
        fetcher._redirect_target("u", "https://api.worldbank.org/v2/a", "http://api.worldbank.org/v2/b")
    with pytest.raises(SourceFetchError, match="only fetches from 'api.worldbank.org'"):
        fetcher._redirect_target("u", "https://api.worldbank.org/v2/a", "https://api.worldbank.org.evil.example/v2/b")


def test_a_redirect_loop_ends_after_a_few_hops(tmp_path, httpserver):
    httpserver.expect_request("/loop").respond_with_response(Response(status=302, headers={"Location": "/loop"}))
    fetcher = _fetcher(tmp_path, httpserver.url_for("/"))
    with pytest.raises(SourceFetchError, match=f"more than {MAX_REDIRECTS} redirects") as failure:
        fetcher.get(httpserver.url_for("/loop"), "x.json", kind="json")
    assert failure.value.retryable is False
    assert len(httpserver.log) == MAX_REDIRECTS + 1


@pytest.mark.parametrize(("status", "retryable", "calls"), [(404, False, 1), (403, False, 1), (503, True, 3), (429, True, 3)])
def test_only_429_and_5xx_are_retried_and_flagged_retryable(tmp_path, httpserver, status, retryable, calls):
    httpserver.expect_request("/f").respond_with_data("no", status=status)
    with pytest.raises(SourceFetchError, match=f"HTTP {status}") as failure:
        _fetcher(tmp_path, httpserver.url_for("/"), retries=2).get(httpserver.url_for("/f"), "f.json", kind="json")
    assert failure.value.retryable is retryable
    assert len(httpserver.log) == calls


def test_a_retry_after_beyond_the_deadline_is_not_waited_for(tmp_path, httpserver):
    httpserver.expect_request("/f").respond_with_data("busy", status=503, headers={"Retry-After": "3600"})
    fetcher = _fetcher(tmp_path, httpserver.url_for("/"), retries=3, request_deadline_seconds=2)
    started = time.monotonic()
    with pytest.raises(SourceFetchError, match=r"HTTP 503 .*\(after 0 retries\)"):
        fetcher.get(httpserver.url_for("/f"), "f.json", kind="json")
    assert time.monotonic() - started < 2  # gave up at once rather than sleep past the deadline
    assert len(httpserver.log) == 1


def test_a_stalled_server_fails_at_the_deadline_even_with_retries_left(tmp_path, httpserver):
    def slow(request):
        time.sleep(0.6)  # each attempt times out (read timeout 0.5 s) and is retried while time remains
        return Response("[]", content_type="application/json")
    httpserver.expect_request("/f").respond_with_handler(slow)
    fetcher = LiveFetcher("worldbank", LandingWriter(tmp_path, "worldbank"), http_session(), httpserver.url_for("/"),
                          timeout_seconds=0.5, retries=20, backoff_factor=0, request_deadline_seconds=1.5)
    with pytest.raises(SourceFetchError, match=r"(the request deadline of 1.5 s passed|request failed after)") as failure:
        fetcher.get(httpserver.url_for("/f"), "f.json", kind="json")
    assert len(httpserver.log) <= 4, str(failure.value)  # not 21 attempts


def test_the_manifest_keeps_every_hop_and_the_final_url(tmp_path):
    writer = LandingWriter(tmp_path, "worldbank")
    hops = [Hop("http://a/1", 301, "http://a/2"), Hop("http://a/2", 302, "http://a/3")]
    writer.add("p.json", b"[]", url="http://a/1", final_url="http://a/3", redirects=hops, kind="json")
    landing = read_landing(writer.finish().path, "worldbank")
    assert landing.files[0].redirects == tuple(hops) and landing.files[0].final_url == "http://a/3"
    manifest = json.loads((landing.path / "manifest.json").read_text())
    assert manifest["entries"][0]["redirects"][0] == {"url": "http://a/1", "status": 301, "location": "http://a/2"}


# ------------------------------------------------------------------ release dates and retention (issue 18)


def _landing(root, source, files: dict[str, bytes], fetch_id: str, **add_kwargs) -> Landing:
    writer = LandingWriter(root, source, fetch_id=fetch_id)
    for name, body in files.items():
        writer.add(name, body, url=f"http://x/{name}", **add_kwargs)
    return writer.finish()


def test_release_dates_belong_to_the_bytes(tmp_path):
    snapshot, archive = tmp_path / "snapshot", tmp_path / "landing"
    _landing(snapshot, "fa", {"summary.csv": b"april"}, "1-april", fetched_at=None)
    (snapshot / "fa" / "1-april" / "manifest.json").write_text(
        (snapshot / "fa" / "1-april" / "manifest.json").read_text().replace('"metadata": {}', '"metadata": {"release": "2025-04 (copy committed 2025-04-02)"}'))
    _landing(archive, "fa", {"summary.csv": b"april"}, "2026-01-05T000000.000000Z", fetched_at="2026-01-05T00:00:00+00:00")
    _landing(archive, "fa", {"summary.csv": b"new"}, "2025-12-01T000000.000000Z", fetched_at="2025-12-01T06:00:00+00:00")
    _landing(archive, "fa", {"summary.csv": b"new"}, "2026-01-05T000001.000000Z", fetched_at="2026-01-05T00:00:00+00:00")
    _landing(archive, "fa", {"summary.csv": b"dated"}, "2026-01-06T000000.000000Z",
             headers={"Last-Modified": "Tue, 30 Sep 2025 12:00:00 GMT"}, fetched_at="2026-01-06T00:00:00+00:00")
    dates = archived_release_dates([archive, snapshot], "fa")
    assert dates[sha256_bytes(b"april")] == dt.date(2025, 4, 2)  # the snapshot's date, not the later fetch
    assert dates[sha256_bytes(b"new")] == dt.date(2025, 12, 1)  # first received, not re-fetched
    assert dates[sha256_bytes(b"dated")] == dt.date(2025, 9, 30)  # the publisher's Last-Modified


def test_identical_refetches_are_pruned_keeping_the_first_and_the_newest(tmp_path):
    def fetch_of(fetch_id: str, data: bytes, index_page: bytes = b"<html>index</html>") -> Landing:
        writer = LandingWriter(tmp_path, "cbp", fetch_id=fetch_id)
        writer.add("index.html", index_page, url="http://x/", kind="html")
        writer.add("data.csv", data, url="http://x/data.csv", kind="csv")
        return writer.finish()
    a1 = fetch_of("2026-01-01T000000.000000Z", b"release A")
    a2 = fetch_of("2026-01-02T000000.000000Z", b"release A", b"<html>index, new banner</html>")
    b1 = fetch_of("2026-01-03T000000.000000Z", b"release B")
    a3 = fetch_of("2026-01-04T000000.000000Z", b"release A")
    a4 = fetch_of("2026-01-05T000000.000000Z", b"release A")
    assert refetches_to_prune(list_landings(tmp_path, "cbp")) == {a2.fetch_id: a1.fetch_id, a3.fetch_id: a1.fetch_id}
    assert prune_identical_refetches(tmp_path, "cbp") == [a2.fetch_id, a3.fetch_id]
    assert [landing.fetch_id for landing in list_landings(tmp_path, "cbp")] == [a1.fetch_id, b1.fetch_id, a4.fetch_id]
    log = [json.loads(line) for line in (tmp_path / "cbp" / "refetches.jsonl").read_text().splitlines()]
    assert [(entry["fetch_id"], entry["same_release_as"]) for entry in log] == [(a2.fetch_id, a1.fetch_id), (a3.fetch_id, a1.fetch_id)]
    assert prune_identical_refetches(tmp_path, "cbp") == []  # idempotent
