from __future__ import annotations

import json

import pytest

from orchestration.errors import SourceFetchError, SourceFormatError
from orchestration.transport import (
    LandingWriter,
    LiveFetcher,
    check_body_kind,
    http_session,
    list_landings,
    read_landing,
    safe_file_name,
)
from tests.conftest import SNAPSHOT_DIR


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


def test_fetcher_refuses_other_hosts(tmp_path):
    fetcher = LiveFetcher("worldbank", LandingWriter(tmp_path, "worldbank"), http_session(),
                          "https://api.worldbank.org/v2", timeout_seconds=1, retries=0)
    with pytest.raises(SourceFetchError, match="only fetches from 'api.worldbank.org'"):
        fetcher.get("https://evil.example/steal", "x.json", kind="json")
