"""Building the bundled replay snapshot (``snapshot/``): what every source's recipe
(``orchestration/sources/<source>/snapshot.py``) shares. ``scripts/build_snapshot.py`` runs the recipes.

A recipe writes landings with the same manifest a live fetch writes, plus the origin of the bytes.
Where the bundle holds a series in another format than the live endpoint serves, the recipe converts
it once into the pages the endpoint serves for the same query, values unchanged, so replay runs the
same parser as live; other files are copied byte for byte.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from orchestration.core.settings import FIRST_YEAR
from orchestration.fetch.archive import LandingWriter, sha256_bytes

# the snapshot answers the queries a live fetch makes: from the input year before the first published year
SNAPSHOT_FIRST_YEAR = FIRST_YEAR - 1
PAGE_ONLY = "exact download URL not recorded by the copy's origin: url is the publisher's listing page"


@dataclass(frozen=True)
class CopiedRelease:
    """One landing of files copied byte for byte from ``shared/sources``: ``files`` are (shared path,
    publisher URL[, name archived as]). Landing ids sort in release order."""

    fetch_id: str
    files: tuple[tuple[str, ...], ...]
    metadata: dict = field(default_factory=dict)


def copy_releases(shared: Path, out: Path, source: str, licence: str, releases: tuple[CopiedRelease, ...]) -> None:
    for release in releases:
        writer = LandingWriter(out, source, licence=licence, fetch_id=release.fetch_id,
                               metadata={"copied_from": "../shared/sources (see snapshot/PROVENANCE.md)", **release.metadata})
        for relative, url, *archived_as in release.files:
            body = (shared / relative).read_bytes()
            writer.add(archived_as[0] if archived_as else Path(relative).name, body, url=url, fetched_at=None)
        writer.finish()


def number_token(text: str):
    """A file's number as JSON would carry it: an int stays an int, a float keeps its value."""
    value = json.loads(text)
    if not isinstance(value, (int, float)) or float(value) != float(text):
        raise ValueError(f"cannot carry {text!r} as a JSON number")
    return value


def file_sha256(path: Path) -> str:
    return sha256_bytes(path.read_bytes())
