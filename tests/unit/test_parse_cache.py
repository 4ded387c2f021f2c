"""Parse once per release (orchestration/load/parse_cache.py): on the bundled snapshot's real landings."""

from __future__ import annotations

import dataclasses
import threading

import pandas as pd
import pytest

from orchestration.config import load_settings
from orchestration.fetch.archive import list_landings
from orchestration.load import parse_cache
from orchestration.load.parse_cache import cache_key, parse_cache_dir, parse_with_cache
from orchestration.load.step import run_load
from orchestration.sources import unodc, worldbank
from tests.conftest import SNAPSHOT_DIR, warehouse_env

PARSES: list[str] = []


def counted_worldbank_parse(landings, settings):
    PARSES.append("worldbank")
    return worldbank.SPEC.parse(landings, settings)


COUNTED = dataclasses.replace(worldbank.SPEC, parse=counted_worldbank_parse)


@pytest.fixture
def settings(tmp_path):
    PARSES.clear()
    return load_settings(warehouse_env(tmp_path))


def _landings(source: str = "worldbank"):
    return list_landings(SNAPSHOT_DIR, source)


def _assert_same(frames, expected):
    assert frames.keys() == expected.keys()
    for name in expected:
        pd.testing.assert_frame_equal(frames[name], expected[name], check_exact=True)


def test_unchanged_landings_are_parsed_once_and_read_back_identical(settings):
    first = parse_with_cache(COUNTED, _landings(), settings, report=lambda message: None)
    messages = []
    again = parse_with_cache(COUNTED, _landings(), settings, report=messages.append)
    assert PARSES == ["worldbank"]  # the second call parsed nothing
    assert any("reused" in message for message in messages), messages
    _assert_same(again, first)
    _assert_same(again, worldbank.SPEC.parse(_landings(), settings))  # dtypes and all, as a fresh parse


def test_an_edited_country_alias_seed_changes_the_key(settings, tmp_path, monkeypatch):
    """A user who adds a publisher's spelling to country_aliases.csv gets the landings parsed again."""
    import shutil

    seeds = tmp_path / "seeds"
    shutil.copytree(parse_cache.REFERENCE_DATA_DIR, seeds)
    monkeypatch.setattr(parse_cache, "REFERENCE_DATA_DIR", seeds)
    parse_cache.parser_version.cache_clear()
    key = cache_key(COUNTED, _landings(), settings)
    with open(seeds / "country_aliases.csv", "a", encoding="utf-8") as aliases:
        aliases.write("Republica de Honduras,HND\n")
    parse_cache.parser_version.cache_clear()
    assert cache_key(COUNTED, _landings(), settings) != key
    parse_cache.parser_version.cache_clear()


def test_what_the_frames_depend_on_is_in_the_key(settings):
    key = cache_key(COUNTED, _landings(), settings)
    assert cache_key(COUNTED, _landings()[:1], settings) != key  # another set of releases
    assert cache_key(COUNTED, _landings(), dataclasses.replace(settings, countries=("HND",))) != key
    assert cache_key(worldbank.SPEC, _landings(), settings) != key  # another parser
    parse_with_cache(COUNTED, _landings(), settings, report=lambda message: None)
    parse_with_cache(COUNTED, _landings(), dataclasses.replace(settings, countries=("HND", "GTM")), report=lambda message: None)
    assert PARSES == ["worldbank", "worldbank"]


def test_a_corrupt_entry_is_parsed_again_and_replaced(settings):
    expected = parse_with_cache(COUNTED, _landings(), settings, report=lambda message: None)
    (entry,) = (parse_cache_dir(settings) / "worldbank").glob("*.pickle")
    entry.write_bytes(entry.read_bytes()[: entry.stat().st_size // 2])  # a writer killed mid-file, say
    messages = []
    _assert_same(parse_with_cache(COUNTED, _landings(), settings, report=messages.append), expected)
    assert PARSES == ["worldbank", "worldbank"]
    assert any("unreadable" in message for message in messages), messages
    _assert_same(parse_with_cache(COUNTED, _landings(), settings, report=lambda message: None), expected)
    assert len(PARSES) == 2  # the replacement is whole


def test_concurrent_writers_of_one_entry_leave_one_whole_entry(settings):
    frames = unodc.SPEC.parse(_landings("unodc"), settings)
    entry = parse_cache_dir(settings) / "unodc" / f"{cache_key(unodc.SPEC, _landings('unodc'), settings)}.pickle"
    writers = [threading.Thread(target=parse_cache._write, args=(entry, frames)) for _ in range(8)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    assert [path.name for path in entry.parent.iterdir()] == [entry.name]  # no partial file left behind
    _assert_same(parse_with_cache(unodc.SPEC, _landings("unodc"), settings, report=lambda message: None), frames)


def test_a_second_load_of_the_same_release_parses_nothing(settings):
    """Through the load step, on a real DuckDB warehouse: a forced reload reads the frames back."""
    logged = []
    first = run_load(COUNTED, settings, (2000, 2024), forced=True, published_seq=0, log=logged.append,
                     validate=_passing)
    second = run_load(COUNTED, settings, (2000, 2024), forced=True, published_seq=0, log=logged.append,
                      validate=_passing)
    assert PARSES == ["worldbank"]
    table = "worldbank_indicator_values"
    assert second.counts[table]["rows_replaced"] > 0  # the reload wrote the frames read back
    assert second.counts[table]["rows_in_table"] == first.counts[table]["rows_in_table"]
    assert any("reused" in message for message in logged), logged


def _passing(name, frame):
    from orchestration.check.validation import ValidationReport

    return ValidationReport(name, f"{name}.json", len(frame), 0, ())
