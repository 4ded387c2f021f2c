"""The landings one source's load parses: a fresh live fetch into the archive, or the replay snapshot."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from orchestration.core.errors import SourceError
from orchestration.fetch.archive import Landing, LandingWriter, list_landings, prune_identical_refetches
from orchestration.fetch.limits import ArchiveBudget, FetchLimits
from orchestration.fetch.http import (
    DEFAULT_FETCH_DEADLINE_SECONDS,
    DEFAULT_REQUEST_DEADLINE_SECONDS,
    Deadline,
    LiveFetcher,
    http_session,
)


def acquire_landings(
    source: str,
    mode: str,
    snapshot_dir: Path,
    landing_dir: Path,
    fetch: Callable[[LiveFetcher], dict | None],
    *,
    base_url: str,
    licence: str,
    timeout_seconds: float,
    retries: int,
    backoff_factor: float,
    request_deadline_seconds: float = DEFAULT_REQUEST_DEADLINE_SECONDS,
    fetch_deadline_seconds: float = DEFAULT_FETCH_DEADLINE_SECONDS,
    fetch_deadline: Deadline | None = None,
    limits: FetchLimits | None = None,
    budget: ArchiveBudget | None = None,
) -> list[Landing]:
    """The landings to parse for one source: a fresh live fetch, or every landing of the snapshot.

    A live fetch that completes also applies the archive's retention policy to the source
    (``prune_identical_refetches``), so the daily run keeps the landing archive from growing with
    copies of the same release.

    ``fetch_deadline`` (a run's fetch phase) cuts the source's own deadline short when it comes first;
    ``limits`` are the source's (``effective_limits`` of its SPEC's), ``budget`` the archive's disk budget,
    shared by the fetches of one run."""
    if mode == "replay":
        landings = list_landings(snapshot_dir, source)
        if not landings:
            raise SourceError(source, str(snapshot_dir / source), "replay snapshot has no complete landing for this source")
        return landings
    writer = LandingWriter(landing_dir, source, licence=licence)
    deadline = Deadline.after(fetch_deadline_seconds, "source fetch deadline")
    if fetch_deadline is not None and fetch_deadline.at < deadline.at:
        deadline = fetch_deadline
    fetcher = LiveFetcher(source, writer, http_session(), base_url, timeout_seconds, retries, backoff_factor,
                          request_deadline_seconds=request_deadline_seconds, fetch_deadline=deadline,
                          limits=limits, budget=budget)
    try:
        metadata = fetch(fetcher)
    except BaseException as exc:
        writer.finish(complete=False, error=str(exc)[:2000])
        raise
    writer.metadata.update(metadata or {})
    landing = writer.finish(complete=True)
    prune_identical_refetches(landing_dir, source)
    return [landing]

