"""Fault matrix: every discovered source's live fetch -> parse -> validate against a local server
serving the real publisher bytes (its stand-in, tests/standins/<source>.py), with one fault injected
at a time (see docs/reliability.md for the table). A new source is in the matrix by construction.

For each fault: the outcome (success after retries, or a clear failure), the message a user reads
(source, URL, what was wrong), and what stays archived (every response as received; a failed
fetch's landing is marked incomplete and is never listed for loading). Nothing is written to the
warehouse or the serving copy before this step succeeds (the loading asset loads only after parse
and validation), so a failure here leaves the last good publication as it was.
"""

from __future__ import annotations

import json
import re
import time

import pytest

from orchestration.core.errors import SourceFetchError, SourceFormatError
from orchestration.fetch.archive import list_landings, sha256_bytes
from tests.faults import (
    HTML_CHALLENGE,
    HTML_MAINTENANCE,
    Body,
    CutBody,
    LivePublishers,
    Reset,
    Stall,
    Status,
    fetch,
    live_settings,
    parse_and_validate,
)
from tests.standins import standin_publishers

pytestmark = pytest.mark.integration

STANDINS = standin_publishers()  # every discovered source's; a source without one fails collection by name
SOURCES = tuple(STANDINS)


@pytest.fixture
def live(httpserver):
    publishers = LivePublishers(httpserver, STANDINS)
    yield publishers
    publishers.stop()


def _assert_archived_as_served(live, source, landing):
    """The landing holds exactly the bytes the publisher serves, and says so in its manifest."""
    served = {path: body for path, (body, _) in live.publishers[source].files.items()}
    manifest = json.loads((landing.path / "manifest.json").read_text())
    assert manifest["complete"] is True
    by_sha = {sha256_bytes(body) for body in served.values()}
    assert {f.sha256 for f in landing.files} <= by_sha
    assert len(landing.files) == len(served)


def _assert_failed_fetch_archived(settings, source, *, served_body: bytes | None = None):
    """A failed fetch leaves one landing, marked incomplete with the error, never listed for loading."""
    assert list_landings(settings.landing_dir, source) == []
    [fetch_dir] = (settings.landing_dir / source).iterdir()
    manifest = json.loads((fetch_dir / "manifest.json").read_text())
    assert manifest["complete"] is False and manifest["error"]
    if served_body is not None:  # the bad response itself is kept, as received
        assert any(entry["sha256"] == sha256_bytes(served_body) for entry in manifest["entries"])
    return manifest


def test_each_source_loads_whole_without_faults(live, tmp_path, monkeypatch):
    for source in SOURCES:
        publisher = live.publishers[source]
        settings = live_settings(live, source, tmp_path / source, monkeypatch)
        [landing] = fetch(publisher.spec, settings)
        _assert_archived_as_served(live, source, landing)
        reports = parse_and_validate(publisher.spec, [landing], settings)
        assert all(report.success for report in reports), [r.message() for r in reports if not r.success]


# ------------------------------------------------------------------ transient faults: retried, then success

TRANSIENT = {
    "500-502-503-then-ok": (Status(500), Status(502), Status(503)),
    "429-retry-after-then-ok": (Status(429, headers=(("Retry-After", "1"),), body=b"slow down"),),
    "connection-reset-then-ok": (Reset(),),
    "read-timeout-then-ok": (Stall(1.0),),
    "body-cut-short-then-ok": (CutBody(0.5),),
    "html-maintenance-503-then-ok": (Status(503, body=HTML_MAINTENANCE, content_type="text/html"),),
}


@pytest.mark.parametrize("fault", list(TRANSIENT))
@pytest.mark.parametrize("source", SOURCES)
def test_transient_fault_is_retried_then_the_load_is_whole(live, tmp_path, monkeypatch, source, fault):
    publisher = live.publishers[source]
    live.faults.add(publisher.target, *TRANSIENT[fault])
    settings = live_settings(live, source, tmp_path, monkeypatch, KPI_HTTP_TIMEOUT_SECONDS="0.5", KPI_HTTP_RETRIES="3")
    started = time.monotonic()
    [landing] = fetch(publisher.spec, settings)
    elapsed = time.monotonic() - started
    assert live.faults.calls[publisher.target] == len(TRANSIENT[fault]) + 1  # each fault cost one attempt
    if fault.startswith("429"):
        assert elapsed >= 1.0  # Retry-After honoured (a lower bound, not a timing budget)
    _assert_archived_as_served(live, source, landing)
    reports = parse_and_validate(publisher.spec, [landing], settings)
    assert all(report.success for report in reports), [r.message() for r in reports if not r.success]


# ------------------------------------------------------------------ persistent faults: a clear failure

PERSISTENT = {
    "503-persistent": (Status(503), r"HTTP 503"),
    "429-persistent": (Status(429, headers=(("Retry-After", "0"),)), r"HTTP 429"),
    "connection-reset-persistent": (Reset(), r"request failed .*(ConnectionError|reset|Connection aborted)"),
    "read-timeout-persistent": (Stall(1.0), r"request failed .*(ReadTimeout|timed out)"),
    "body-cut-short-persistent": (CutBody(0.5), r"(ChunkedEncodingError|IncompleteRead|truncated|Connection broken)"),
}


@pytest.mark.parametrize("fault", list(PERSISTENT))
@pytest.mark.parametrize("source", SOURCES)
def test_persistent_fault_fails_naming_source_and_url(live, tmp_path, monkeypatch, source, fault):
    publisher = live.publishers[source]
    kind, pattern = PERSISTENT[fault]
    retries = 2
    live.faults.add(publisher.target, *[kind] * (retries + 1))
    settings = live_settings(live, source, tmp_path, monkeypatch, KPI_HTTP_TIMEOUT_SECONDS="0.5", KPI_HTTP_RETRIES=str(retries))
    with pytest.raises(SourceFetchError) as failure:
        fetch(publisher.spec, settings)
    message = str(failure.value)
    assert message.startswith(f"[{source}] {live.url_for(publisher.target)}"), message
    assert re.search(pattern, message), message
    assert live.faults.calls[publisher.target] == retries + 1
    _assert_failed_fetch_archived(settings, source)


# ------------------------------------------------------------------ bad input: not retried, a clear failure

BAD_INPUT = {
    "html-challenge-page": (Body(HTML_CHALLENGE, "text/html"), "received an HTML page"),
    "html-page-labelled-as-the-file": (Body(HTML_MAINTENANCE), "received an HTML page"),
    "empty-body": (Body(b""), "empty body"),
    "truncated-file-served-whole": (Body(keep=0.5), None),  # per kind, below
}
TRUNCATED = {"xlsx": "truncated", "pdf": "truncated", "json": "not valid JSON|truncated", "csv": None}


BAD_INPUT_CASES = [(source, fault) for source in SOURCES for fault in BAD_INPUT
                   if not (fault.startswith("truncated") and TRUNCATED[STANDINS[source].kind] is None)]
CSV_SOURCES = [source for source in SOURCES if STANDINS[source].kind == "csv"]


@pytest.mark.parametrize(("source", "fault"), BAD_INPUT_CASES)
def test_bad_body_fails_without_retry_naming_source_and_url(live, tmp_path, monkeypatch, source, fault):
    publisher = live.publishers[source]
    body_fault, pattern = BAD_INPUT[fault]
    pattern = pattern or TRUNCATED[publisher.kind]
    live.faults.add(publisher.target, body_fault)
    settings = live_settings(live, source, tmp_path, monkeypatch)
    with pytest.raises(SourceFormatError, match=pattern) as failure:
        fetch(publisher.spec, settings)
    assert str(failure.value).startswith(f"[{source}] {live.url_for(publisher.target)}")
    assert live.faults.calls[publisher.target] == 1  # bad bytes are not retried
    served = body_fault.body if body_fault.body is not None else publisher.files[publisher.target][0][: int(len(publisher.files[publisher.target][0]) * 0.5)]
    _assert_failed_fetch_archived(settings, source, served_body=served)


@pytest.mark.parametrize("source", CSV_SOURCES)
def test_truncated_csv_fails_in_the_parser_or_the_suites(live, tmp_path, monkeypatch, source):
    """A CSV has no end marker, so a file cut short (with a matching Content-Length) is archived as
    received; its last line is cut mid-row, which the parser or the suites must reject."""
    publisher = live.publishers[source]
    live.faults.add(publisher.target, Body(keep=0.5))
    settings = live_settings(live, source, tmp_path, monkeypatch)
    try:
        [landing] = fetch(publisher.spec, settings)
    except SourceFormatError as exc:  # rejected while fetching (foreign assistance parses the CSV there)
        message = str(exc)
    else:
        try:
            reports = parse_and_validate(publisher.spec, [landing], settings)
        except SourceFormatError as exc:
            message = str(exc)
        else:
            failed = [r for r in reports if not r.success]
            assert failed, "a CSV cut in half loaded as if whole"
            message = " | ".join(r.message() for r in failed)
    assert source in message or publisher.target.rsplit("/", 1)[-1] in message


@pytest.mark.xfail(strict=True, reason="known gap: a CBP CSV cut at a row boundary and served whole (matching "
                   "Content-Length) has fewer rows but nothing in it is malformed; see docs/reliability.md")
def test_cbp_csv_cut_at_a_row_boundary_is_detected(live, tmp_path, monkeypatch):
    publisher = live.publishers["cbp"]
    body = publisher.files[publisher.target][0]
    cut = body[: int(len(body) * 0.9)]
    live.faults.add(publisher.target, Body(cut[: cut.rfind(b"\n") + 1]))
    settings = live_settings(live, "cbp", tmp_path, monkeypatch)
    [landing] = fetch(publisher.spec, settings)
    with pytest.raises((SourceFormatError, AssertionError)):
        reports = parse_and_validate(publisher.spec, [landing], settings)
        assert all(report.success for report in reports)
