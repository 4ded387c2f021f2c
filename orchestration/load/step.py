"""One source's load: which releases and years to load, then fetch -> parse -> validate -> load.

A release (a landing: one fetch of a publisher's files) is the unit of load. A release the
warehouse has not loaded before is loaded whole, every year it carries, whatever the run's
partition range: publishers republish whole series, and the marts take each series from its
newest release, so loading part of a new release would hide the rest of the series. A range of
years (a backfill) re-reads exactly those years of releases already loaded.

The daily schedule (``forced=False``) skips a source whose releases were all loaded before, unless
its last load is not yet in the live publication (a run that died after loading): then it reports
the source as pending, without reloading, so the transform and publication follow.

This module holds no Dagster: the loading asset (orchestration/platform/source_assets.py) turns its outcome
into events, and tests drive it directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import pandas as pd

from orchestration.core.settings import Settings
from orchestration.sources.contract import SourceSpec, with_input_year
from orchestration.load.fetch_phase import acquire_source
from orchestration.fetch.archive import Landing, describe_landings, landings_fingerprint
from orchestration.check.validation import ValidationReport, build_data_docs, validate_frame
from orchestration.load.engines import warehouse_for
from orchestration.load.parse_ahead import ParseAhead
from orchestration.load.parse_cache import parse_with_cache
from orchestration.load.plausibility_inputs import plausibility_check_frames
from orchestration.load.warehouse import LoadRecord, RawLoad, loaded_releases, new_load_id, release_key

LOAD, SKIP, PENDING = "load", "skip", "pending"


@dataclass(frozen=True)
class LoadPlan:
    action: str  # LOAD, SKIP (nothing new, already published) or PENDING (nothing new, not yet published)
    years: tuple[int, int]  # the years to load (every year when a new release is loaded whole)
    whole_release: bool
    new_releases: tuple[str, ...]
    reason: str


def plan_load(history: list[LoadRecord], releases: dict[str, str], run_years: tuple[int, int],
              all_years: tuple[int, int], forced: bool, published_seq: int,
              outdated_publication: str | None = None) -> LoadPlan:
    """What one source's step does (pure, so it is unit-tested).

    ``history``: the source's loads; ``releases``: release key -> fetch id of what the source holds
    now; ``published_seq``: the last load the live publication includes; ``outdated_publication``:
    why the live publication was not made by this version (an upgrade), or None. After an upgrade,
    what is loaded is pending: the daily run rebuilds and publishes it with this version's models
    even when no publisher sent anything new.
    """
    known = loaded_releases(history)
    new = tuple(sorted(fetch_id for key, fetch_id in releases.items() if key not in known))
    if new:
        return LoadPlan(LOAD, all_years, True, new,
                        f"new release(s) {', '.join(new)}: loaded whole ({all_years[0]}-{all_years[1]}), "
                        f"whatever the run's years ({run_years[0]}-{run_years[1]})")
    if forced:
        return LoadPlan(LOAD, run_years, False, (), f"reloading {run_years[0]}-{run_years[1]} of the releases already loaded")
    last = history[-1] if history else None
    if last is not None and outdated_publication:
        return LoadPlan(PENDING, run_years, False, (),
                        f"no new release; {outdated_publication}: the transform and publication follow")
    if last is not None and last.load_seq > published_seq:
        return LoadPlan(PENDING, run_years, False, (),
                        f"no new release; load {last.load_id} (#{last.load_seq}) is not yet in the live publication "
                        f"(which includes loads up to #{published_seq}): the transform and publication follow")
    return LoadPlan(SKIP, run_years, False, (),
                    "no new release since the loads already published: nothing parsed, loaded or rebuilt")


def needs_parse(history: list[LoadRecord], landings: list[Landing], countries: tuple[str, ...], forced: bool) -> bool:
    """Whether the source's step will parse (``plan_load`` says LOAD: a forced run, or a release the
    warehouse has not loaded whole); the run's years and publication only decide between the other plans."""
    releases = {release_key(landing.sha256, countries): landing.fetch_id for landing in landings}
    return plan_load(history, releases, (0, 0), (0, 0), forced, published_seq=0).action == LOAD


@dataclass
class LoadOutcome:
    plan: LoadPlan
    fingerprint: str
    landings: list[Landing]
    reports: list[ValidationReport] = field(default_factory=list)
    empty_suites: list[str] = field(default_factory=list)  # nothing in the load's years to validate
    counts: dict[str, dict] = field(default_factory=dict)
    load_id: str | None = None

    @property
    def failed(self) -> list[ValidationReport]:
        return [report for report in self.reports if not report.success]

    def describe_landings(self) -> list[dict]:
        return describe_landings(self.landings)


def in_years(frame: pd.DataFrame, year_column: str | None, years: tuple[int, int]) -> pd.DataFrame:
    if year_column is None:
        return frame
    inside = frame[year_column].between(years[0], years[1])
    if inside.all() and frame.index.equals(pd.RangeIndex(len(frame))):
        return frame  # a whole release in a full build: no second copy of every parsed row
    return frame[inside].reset_index(drop=True)


def acquire(spec: SourceSpec, settings: Settings, fetched: Callable[[SourceSpec], list[Landing] | None] | None = None) -> list[Landing]:
    """The landings of ``spec``: what the run's fetch phase already fetched (``fetched``), else a
    fetch (or replay) of its own (orchestration/load/fetch_phase.py)."""
    landings = fetched(spec) if fetched is not None else None
    return landings if landings is not None else acquire_source(spec, settings)


def run_load(spec: SourceSpec, settings: Settings, run_years: tuple[int, int], forced: bool, published_seq: int,
             run_id: str | None = None, log: Callable[[str], None] = print,
             validate: Callable[[str, pd.DataFrame], ValidationReport] | None = None,
             parse: Callable | None = None,
             fetched: Callable[[SourceSpec], list[Landing] | None] | None = None,
             before_write: Callable[[], None] | None = None, outdated_publication: str | None = None,
             ahead: ParseAhead | None = None) -> LoadOutcome:
    """Fetch (or replay) one source, decide, and load what the plan says.

    Nothing is written when a suite fails: the outcome's ``failed`` lists the reports. ``parse``
    replaces ``spec.parse`` (tests memoise it), whose frames are otherwise kept per release
    (orchestration/load/parse_cache.py); ``validate`` replaces the GX checkpoints (whose results are
    stored under ``settings.validation_dir`` and rendered as Data Docs by the publication, or at once
    when they fail). ``fetched`` gives the landings of the run's fetch phase; ``before_write`` is called right before the write.
    ``outdated_publication``: why the live publication is not this version's (see ``plan_load``).
    ``ahead``: the run's parse-ahead worker (orchestration/load/parse_ahead.py), waited for when it took the source.
    """
    landings = acquire(spec, settings, fetched)
    fingerprint = landings_fingerprint(landings)
    releases = {release_key(landing.sha256, settings.countries): landing.fetch_id for landing in landings}
    warehouse = warehouse_for(settings)
    history = warehouse.load_history(spec.name)
    # the first partition's load (and a whole release) also covers the input year before the first
    plan = plan_load(history, releases, with_input_year(run_years, settings.first_year),
                     with_input_year((settings.first_year, settings.last_year), settings.first_year), forced, published_seq,
                     outdated_publication)
    outcome = LoadOutcome(plan, fingerprint, landings)
    log(f"{spec.name}: {plan.reason}")
    if plan.action != LOAD:
        return outcome
    log(f"{spec.name}: parsing {len(landings)} landing(s) for {plan.years[0]}-{plan.years[1]} ({settings.source_mode} mode)")
    if parse is None and ahead is not None and ahead.claim_or_wait(spec.name) == "worker":
        log(f"{spec.name}: parsed ahead by process {ahead.process.pid} while the sources before it loaded")
    parsed = parse(landings, settings) if parse is not None else parse_with_cache(spec, landings, settings, log)
    frames = {dataset.name: in_years(parsed[dataset.name], dataset.year_column, plan.years) for dataset in spec.datasets}
    del parsed  # rows outside the years are freed before validation and loading
    check_frames = spec.check_frames(frames)
    if set(check_frames) != set(spec.check_suites):
        raise RuntimeError(f"{spec.name}: check_frames returned {sorted(check_frames)}, SPEC.check_suites declares {sorted(spec.check_suites)}")
    # a release that jumps from the previous one, or exceeds population, is never loaded
    check_frames.update(plausibility_check_frames(frames, warehouse, spec.plausibility))
    parameters = spec.expectation_parameters()
    # a range of years the publisher has nothing for (e.g. the current year) is empty, not invalid
    for name, frame in {**frames, **check_frames}.items():
        if len(frame):
            outcome.reports.append(validate(name, frame) if validate is not None
                                   else validate_frame(name, frame, settings.validation_dir, parameters))
        else:
            outcome.empty_suites.append(name)
    if outcome.failed:
        if validate is None:
            build_data_docs(settings.validation_dir)  # no publication follows: the docs show why now
        return outcome
    if before_write is not None:
        before_write()  # e.g. the writer lock is still ours (orchestration/load/lock.py check_still_writer)
    outcome.load_id = new_load_id()
    outcome.counts = warehouse.load_source(
        spec.name,
        [RawLoad(dataset.name, frames[dataset.name], dataset.replace_on, dataset.year_column) for dataset in spec.datasets],
        plan.years, outcome.load_id, fingerprint, releases=tuple(releases), whole_release=plan.whole_release, run_id=run_id,
    )
    return outcome
