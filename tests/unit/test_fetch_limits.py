"""Bounded fetches (issue 24): every source declares its limits, the streaming reader holds them
whatever the publisher sends, and one paging checker holds every paged answer to the same rules."""

from __future__ import annotations

import dataclasses
import zlib

import pytest

from orchestration.core.errors import SourceFormatError
from orchestration.fetch.limits import MIB, ArchiveBudget, FetchLimits, effective_limits
from orchestration.fetch.paging import Answer, Page, PagingContract, check_answer_complete
from orchestration.fetch.stream import DECODE_PIECE_BYTES, CorruptEncoding, OverLimit, stream_to_file
from orchestration.sources import discover
from orchestration.sources.contract import SourceSpec
from tests.conftest import SNAPSHOT_DIR
from tests.hostile import gzip_bomb

PAGED_SOURCES = {"worldbank", "foreign_assistance", "unhcr"}


# ------------------------------------------------------------------ what every source declares


@pytest.mark.parametrize("spec", discover(), ids=lambda spec: spec.name)
def test_every_source_declares_limits_above_its_real_files(spec):
    assert isinstance(spec.limits, FetchLimits), f"{spec.name} declares no FetchLimits"
    largest = max(path.stat().st_size for path in (SNAPSHOT_DIR / spec.name).rglob("*") if path.is_file())
    # headroom: a real file of ten times the size of the largest one bundled still fits
    assert spec.limits.max_body_bytes >= 10 * largest and spec.limits.max_response_bytes >= 10 * largest, spec.limits
    assert spec.limits.max_landing_bytes >= spec.limits.max_body_bytes


def test_the_paged_sources_declare_their_paging_contract():
    assert {spec.name for spec in discover() if spec.paging is not None} == PAGED_SOURCES


def test_a_source_without_limits_cannot_be_declared():
    spec = next(iter(discover()))
    fields = {field.name: getattr(spec, field.name) for field in dataclasses.fields(spec) if field.name != "limits"}
    with pytest.raises(TypeError, match="limits"):
        SourceSpec(**fields)
    with pytest.raises(TypeError, match="must be a FetchLimits"):
        SourceSpec(**fields, limits=None)


def test_settings_raise_the_declared_limits_and_never_lower_them():
    declared = FetchLimits.mib(16, 32, 128)
    assert effective_limits(declared, max_body_mb=1) == declared
    raised = effective_limits(declared, max_response_mb=100, max_body_mb=200, max_landing_mb=300)
    assert raised == FetchLimits.mib(100, 200, 300)


# ------------------------------------------------------------------ streaming under the limits


def _reader(body: bytes, chunk_cap: int = 65536):
    position = 0

    def read(size: int) -> bytes:
        nonlocal position
        piece = body[position:position + min(size, chunk_cap)]
        position += len(piece)
        return piece

    return read


def test_a_gzip_bomb_stops_at_the_body_limit_without_expanding_further(tmp_path):
    bomb = gzip_bomb(256 * MIB)  # 256 KB on the wire
    written = []
    with pytest.raises(OverLimit, match=r"more than 8,388,608 bytes after decompression"):
        stream_to_file(_reader(bomb), "gzip", tmp_path / "body", max_received=64 * MIB, max_size=8 * MIB,
                       may_write=lambda count: written.append(count))
    # each piece is bounded: memory never held more than one piece of the expansion
    assert max(written) <= DECODE_PIECE_BYTES and sum(written) <= 8 * MIB
    assert (tmp_path / "body").stat().st_size <= 8 * MIB


def test_an_endless_body_stops_at_the_received_limit(tmp_path):
    def endless(size: int) -> bytes:
        return bytes(size)

    with pytest.raises(OverLimit, match=r"more than 1,048,576 bytes received"):
        stream_to_file(endless, "", tmp_path / "body", max_received=MIB, max_size=64 * MIB, may_write=lambda count: None)


def test_compressed_bodies_are_decoded_like_requests_would(tmp_path):
    text = b"year,value\n" + b"2024,1\n" * 10000
    members = gzip_bomb(0, prefix=text[:5000]) + gzip_bomb(0, prefix=text[5000:])  # two gzip members
    streamed = stream_to_file(_reader(members, 100), "gzip", tmp_path / "a", max_received=MIB, max_size=MIB, may_write=lambda c: None)
    assert (tmp_path / "a").read_bytes() == text and streamed.size == len(text) and streamed.received == len(members)
    raw_deflate = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    body = raw_deflate.compress(text) + raw_deflate.flush()
    stream_to_file(_reader(body), "deflate", tmp_path / "b", max_received=MIB, max_size=MIB, may_write=lambda c: None)
    assert (tmp_path / "b").read_bytes() == text
    with pytest.raises(CorruptEncoding, match="truncated"):
        stream_to_file(_reader(members[:len(members) // 3]), "gzip", tmp_path / "c", max_received=MIB, max_size=MIB,
                       may_write=lambda c: None)


def test_the_archive_budget_is_shared_and_refunded(tmp_path):
    (tmp_path / "already").write_bytes(bytes(600))
    budget = ArchiveBudget(tmp_path, 1000)
    assert budget.used == 600 and budget.charge(300) and not budget.charge(200)
    budget.refund(300)
    assert budget.charge(400)


# ------------------------------------------------------------------ one paging checker

UNHCR_LIKE = PagingContract(page_field="page", pages_field="maxPages", requested_page_size=3)


def _answer(*pages: tuple[int, int, list]) -> Answer:
    """(requested page, header's page count, rows) per page."""
    return Answer("q", {number: Page(number, {"page": number, "maxPages": count}, rows, f"u?page={number}")
                        for number, count, rows in pages})


def test_a_header_that_under_reports_its_pages_is_refused():
    with pytest.raises(SourceFormatError, match=r"page=2: page 2 holds 3 rows, but every page's header says there are "
                                                r"1 page\(s\): the header under-reports"):
        check_answer_complete("unhcr", UNHCR_LIKE, _answer((1, 1, [1, 2, 3]), (2, 1, [4, 5, 6])), "q")


def test_a_full_last_page_without_the_next_one_is_refused():
    with pytest.raises(SourceFormatError, match=r"the last page \(1\) is full \(3 rows of 3 asked for\)"):
        check_answer_complete("unhcr", UNHCR_LIKE, _answer((1, 1, [1, 2, 3])), "q")


def test_pages_of_unequal_size_are_refused_where_no_total_is_stated():
    with pytest.raises(SourceFormatError, match="page 2 of 2 holds 3 rows, but page 1 held 2"):
        check_answer_complete("unhcr", dataclasses.replace(UNHCR_LIKE, requested_page_size=None),
                              _answer((1, 2, [1, 2]), (2, 2, [3, 4, 5])), "q")


def test_a_whole_answer_with_an_empty_confirming_page_passes():
    check_answer_complete("unhcr", UNHCR_LIKE, _answer((1, 2, [1, 2, 3]), (2, 2, [4, 5, 6]), (3, 2, [])), "q")
    check_answer_complete("unhcr", UNHCR_LIKE, _answer((1, 2, [1, 2, 3]), (2, 2, [4])), "q")
