"""What one source's step decides (orchestration.load.step.plan_load) and which years the
incremental facts rebuild (orchestration.transform.plan.incremental_range): pure functions."""

from __future__ import annotations

import pytest

from orchestration.load.step import LOAD, PENDING, SKIP, plan_load
from orchestration.transform.plan import dbt_vars, incremental_range
from orchestration.load.warehouse import LoadRecord

ALL = (1999, 2026)


def load(seq: int, releases=("a",), whole=True, years=ALL, source="worldbank") -> LoadRecord:
    return LoadRecord(source, f"load-{seq}", seq, years[0], years[1], whole, tuple(releases))


def test_a_release_never_loaded_whole_is_loaded_for_every_year_whatever_the_range():
    for forced in (True, False):
        plan = plan_load([load(1, releases=("a",))], {"a": "first", "b": "second"}, (2024, 2026), ALL, forced, published_seq=1)
        assert (plan.action, plan.years, plan.whole_release, plan.new_releases) == (LOAD, ALL, True, ("second",))
        assert "second" in plan.reason and "2024-2026" in plan.reason


def test_a_release_loaded_only_for_some_years_is_still_new():
    plan = plan_load([load(1, releases=("a",), whole=False, years=(2005, 2006))], {"a": "first"}, (2024, 2026), ALL, False, 1)
    assert plan.action == LOAD and plan.whole_release


def test_a_forced_run_rereads_its_range_of_known_releases():
    plan = plan_load([load(1)], {"a": "first"}, (2005, 2006), ALL, True, published_seq=1)
    assert (plan.action, plan.years, plan.whole_release) == (LOAD, (2005, 2006), False)


def test_the_daily_run_skips_what_is_loaded_and_published_and_completes_what_is_not():
    assert plan_load([load(1)], {"a": "first"}, (2024, 2026), ALL, False, published_seq=1).action == SKIP
    pending = plan_load([load(1), load(2, whole=False, years=(2024, 2026))], {"a": "first"}, (2024, 2026), ALL, False,
                        published_seq=1)
    assert pending.action == PENDING and "load-2 (#2)" in pending.reason and "up to #1" in pending.reason


def test_no_history_means_every_release_is_new():
    assert plan_load([], {"a": "first"}, (2024, 2026), ALL, False, 0).whole_release


@pytest.mark.parametrize(("pending", "run_range", "every_year", "expected"), [
    ([], (2024, 2026), True, (2000, 2026)),  # never published, or the facts' code changed: every year
    ([], None, False, None),  # nothing changed: nothing to rebuild
    ([], (2024, 2026), False, (2024, 2026)),  # the run's own range
    ([load(2, whole=False, years=(2005, 2006))], (2024, 2026), False, (2005, 2026)),  # a pending backfill too
    ([load(2, years=ALL)], (2024, 2026), False, (2000, 2026)),  # a release loaded whole: every year (clipped to the marts)
])
def test_the_incremental_facts_cover_everything_since_the_live_publication(pending, run_range, every_year, expected):
    assert incremental_range(pending, run_range, (2000, 2026), every_year) == expected


def test_nothing_to_rebuild_is_an_empty_range_for_dbt():
    assert dbt_vars(None) == {"min_year": 1, "max_year": 0}
    assert dbt_vars((2005, 2006)) == {"min_year": 2005, "max_year": 2006}
