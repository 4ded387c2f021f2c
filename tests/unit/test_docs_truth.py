"""Sentences of the docs that the code can check: links lead somewhere, every setting is documented, a
publication id looks like the ones the code writes, statuses are the scorecard's own words, and measured
figures live in one generated page (docs/figures.md) that the others link to."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from orchestration.config import declared_source_settings
from orchestration.core.settings import PLATFORM_VARIABLES, PROJECT_ROOT
from orchestration.publish.publication import new_publication_id

DOCS = sorted((PROJECT_ROOT / "docs").glob("*.md"))


@pytest.mark.parametrize("page", DOCS, ids=lambda page: page.name)
def test_every_relative_link_of_the_docs_leads_to_a_file(page):
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
        if not target.startswith(("http://", "https://", "#", "mailto:")) and not (page.parent / target.split("#")[0]).exists():
            broken.append(target)
    assert broken == []


def test_every_setting_is_in_the_settings_table():
    text = (PROJECT_ROOT / "docs" / "operations.md").read_text()
    table = text[text.index("## Settings"):]
    documented = set(re.findall(r"`(KPI_[A-Z0-9_]+)", table))
    variables = set(PLATFORM_VARIABLES) | {setting.env for setting in declared_source_settings()}
    assert variables - documented == set()


def test_the_publication_id_example_is_one_the_code_could_write():
    text = (PROJECT_ROOT / "docs" / "serving.md").read_text()
    [example] = re.findall(r"`publication_id` \| [^|]*e\.g\. `([^`]+)`", text)
    written = new_publication_id(dt.datetime(2026, 11, 27, 23, 24, 33, 518204, tzinfo=dt.timezone.utc))
    shape = re.sub(r"[0-9a-f]", "x", re.sub(r"\d", "9", written))
    assert re.sub(r"[0-9a-f]", "x", re.sub(r"\d", "9", example)) == shape, (example, written)


def test_scorecard_statuses_quoted_in_the_docs_are_the_scorecards_words():
    sql = (PROJECT_ROOT / "dbt_project" / "models" / "marts" / "core" / "kpi_scorecard.sql").read_text()
    statuses = set(re.findall(r"then '([a-z ]+)'", sql))
    assert "no judgement" in statuses
    for page in DOCS:
        for quoted in re.findall(r"`kpi_scorecard` (?:marks|gives[^`]*status) `([^`]+)`", page.read_text()):
            assert quoted in statuses, (page.name, quoted)


def test_measured_run_times_are_quoted_only_by_the_generated_page():
    """A time of a bench command (full build, daily run, backfill) in seconds is stated in docs/figures.md,
    which the bench writes; another page that states one could disagree with it."""
    timing = re.compile(r"(full build|daily run|backfill)[^|\n]*\|\s*[\d.,]+ s\b|\b(full build|daily run|backfill) [\d.,]+ s\b")
    for page in DOCS:
        if page.name != "figures.md":
            assert not timing.search(page.read_text()), (page.name, timing.search(page.read_text()).group(0))
    figures = (PROJECT_ROOT / "docs" / "figures.md").read_text()
    assert re.search(r"<!-- figures:pipeline .*?Measured \d{4}-\d{2}-\d{2}.*?<!-- /figures:pipeline -->", figures, re.DOTALL)
    assert re.search(r"<!-- figures:engines .*?Measured \d{4}-\d{2}-\d{2}.*?<!-- /figures:engines -->", figures, re.DOTALL)


def test_the_bench_replaces_its_own_section_and_keeps_the_others(tmp_path):
    from bench.figures import write_section

    page = tmp_path / "figures.md"
    started = dt.datetime(2026, 12, 6, 1, 0, tzinfo=dt.timezone.utc)
    write_section("pipeline", "The pipeline", "make bench", [["figure", "value"], ["full build", "30.0 s"]], started, "m1", page=page)
    write_section("engines", "Engines", "python -m bench.engines", [["figure", "DuckDB"], ["run", "70.0"]], started, "m1", page=page)
    write_section("pipeline", "The pipeline", "make bench", [["figure", "value"], ["full build", "29.0 s"]],
                  started + dt.timedelta(days=1), "m2", page=page)
    text = page.read_text()
    assert "29.0 s" in text and "30.0 s" not in text and "| run | 70.0 |" in text
    assert "Measured 2026-12-07 01:00 UTC on m2" in text and "Measured 2026-12-06 01:00 UTC on m1" in text
    assert text.count("<!-- figures:pipeline ") == 1
