"""The landing archive: every fetch as received, under ``<root>/<source>/<fetch_id>/``.

A *landing* is one fetch: a directory holding the files exactly as received plus ``manifest.json``
(url, status, fetched_at, sha256, etag/last-modified, licence, redirects per file). Live mode writes a
new landing per run; replay mode reads the landings of a snapshot directory with the same layout, so
parsing, validation and loading see only landings and share all their code.

A landing is loadable only when its manifest says ``"complete": true``; the manifest is written
last and atomically, so a fetch that died half-way is archived but never mistaken for a whole one.

Retention (``prune_identical_refetches``): every distinct release stays in the archive; a fetch
whose bytes are identical to an earlier landing's is pruned once a newer identical fetch exists
(the first landing of those bytes and the newest stay), and noted in ``<source>/refetches.jsonl``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Iterable, Mapping, NamedTuple

from orchestration.core.errors import SourceFormatError

MANIFEST_NAME = "manifest.json"
REFETCH_LOG_NAME = "refetches.jsonl"
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def sha256_bytes(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def safe_file_name(name: str) -> str:
    """A file name that cannot leave its directory, whatever a URL or a publisher put in it."""
    cleaned = _SAFE_NAME.sub("_", name).strip("._")
    if not cleaned:
        raise ValueError(f"cannot make a file name from {name!r}")
    return cleaned[:180]


def _write_atomically(path: Path, body: bytes) -> None:
    tmp = path.with_name(f".{path.name}.partial")
    with open(tmp, "wb") as handle:
        handle.write(body)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


class Hop(NamedTuple):
    """One redirect a response went through: ``url`` answered ``status`` and sent us to ``location``."""

    url: str
    status: int
    location: str


@dataclass(frozen=True)
class LandedFile:
    """One response (or snapshot file) as archived, with what the manifest says of it.

    ``url`` is the URL requested; ``final_url`` the one that served the bytes after ``redirects``."""

    source: str
    landing_dir: Path
    file: str
    url: str
    sha256: str
    status: int = 200
    content_type: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    fetched_at: str | None = None
    final_url: str | None = None
    redirects: tuple[Hop, ...] = ()
    kind: str | None = None  # what the fetcher expected (json, csv, xlsx, pdf; html for index pages)

    @property
    def path(self) -> Path:
        return self.landing_dir / self.file

    def read_bytes(self) -> bytes:
        body = self.path.read_bytes()
        if sha256_bytes(body) != self.sha256:
            raise SourceFormatError(
                self.source, str(self.path), "archived bytes do not match the manifest's sha256 (file changed on disk)"
            )
        return body

    def to_manifest(self) -> dict:
        return {
            "file": self.file,
            "url": self.url,
            "status": self.status,
            "sha256": self.sha256,
            "bytes": self.path.stat().st_size if self.path.exists() else None,
            "content_type": self.content_type,
            "etag": self.etag,
            "last_modified": self.last_modified,
            "fetched_at": self.fetched_at,
            "final_url": self.final_url or self.url,
            "redirects": [hop._asdict() for hop in self.redirects],
            "kind": self.kind,
        }


@dataclass(frozen=True)
class Landing:
    """One complete fetch of a source: its manifest and files."""

    source: str
    fetch_id: str
    path: Path
    files: tuple[LandedFile, ...]
    licence: str | None = None
    metadata: dict = field(default_factory=dict)

    @property
    def sha256(self) -> str:
        """One fingerprint of every file's bytes, for change detection."""
        return _fingerprint(self.files)

    @property
    def release_sha256(self) -> str:
        """One fingerprint of the data files only: two fetches of the same release are equal even when
        the index pages they were found on changed (a date, a banner, a session token)."""
        return _fingerprint(landed for landed in self.files if landed.kind != "html")


def _fingerprint(files: Iterable[LandedFile]) -> str:
    digest = hashlib.sha256()
    for landed in sorted(files, key=lambda f: f.file):
        digest.update(f"{landed.file}\0{landed.sha256}\n".encode())
    return digest.hexdigest()


def read_landing(path: Path, source: str) -> Landing | None:
    """The landing in ``path``, or None when it has no complete manifest (an interrupted fetch)."""
    manifest_path = path / MANIFEST_NAME
    if not manifest_path.is_file():
        return None
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise SourceFormatError(source, str(manifest_path), f"manifest is not valid JSON: {exc}") from None
    if not manifest.get("complete"):
        return None
    files = tuple(
        LandedFile(
            source=source,
            landing_dir=path,
            file=entry["file"],
            url=entry["url"],
            sha256=entry["sha256"],
            status=entry.get("status", 200),
            content_type=entry.get("content_type"),
            etag=entry.get("etag"),
            last_modified=entry.get("last_modified"),
            fetched_at=entry.get("fetched_at"),
            final_url=entry.get("final_url"),
            redirects=tuple(Hop(hop["url"], int(hop["status"]), hop["location"]) for hop in entry.get("redirects") or ()),
            kind=entry.get("kind"),
        )
        for entry in manifest["entries"]
    )
    for landed in files:
        if Path(landed.file).name != landed.file:
            raise SourceFormatError(source, str(manifest_path), f"entry {landed.file!r} points outside its landing")
    return Landing(
        source=source,
        fetch_id=path.name,
        path=path,
        files=files,
        licence=manifest.get("licence"),
        metadata=manifest.get("metadata", {}),
    )


def list_landings(root: Path, source: str) -> list[Landing]:
    """Every complete landing of ``source`` under ``root``, oldest fetch first."""
    source_dir = root / source
    if not source_dir.is_dir():
        return []
    landings = (read_landing(child, source) for child in sorted(source_dir.iterdir()) if child.is_dir())
    return [landing for landing in landings if landing is not None]


def new_fetch_id(now: dt.datetime | None = None) -> str:
    now = now or dt.datetime.now(dt.timezone.utc)
    return now.strftime("%Y-%m-%dT%H%M%S.%fZ")


class LandingWriter:
    """Writes one fetch into the archive; the manifest is written last, on ``finish``."""

    def __init__(self, root: Path, source: str, licence: str | None = None, fetch_id: str | None = None,
                 metadata: dict | None = None):
        self.source = source
        self.licence = licence
        self.metadata = metadata or {}
        self.fetch_id = fetch_id or new_fetch_id()
        self.path = (root / source / self.fetch_id).resolve()
        if root.resolve() not in self.path.parents:
            raise ValueError(f"landing path {self.path} is outside {root}")
        self.path.mkdir(parents=True, exist_ok=False)
        self.files: list[LandedFile] = []
        self.bytes_written = 0  # of the files added so far (the source's landing limit counts them)

    def partial_path(self, file_name: str) -> Path:
        """Where a body streams while it is received: hidden, and never in the manifest."""
        return self.path / f".{safe_file_name(file_name)}.partial"

    def add(self, file_name: str, body: bytes, url: str, status: int = 200, headers: Mapping[str, str] | None = None,
            fetched_at: str | None = "now", final_url: str | None = None, redirects: Iterable[Hop] = (),
            kind: str | None = None) -> LandedFile:
        """Archive one response as received; ``fetched_at=None`` records an unknown fetch time.
        ``headers`` may be requests' case-insensitive headers (HTTP/2 servers send them lower-case)."""
        name = self._new_name(file_name)
        _write_atomically(self.path / name, body)
        self.bytes_written += len(body)
        return self._record(name, sha256_bytes(body), url, status, headers, fetched_at, final_url, redirects, kind)

    def add_streamed(self, file_name: str, partial: Path, sha256: str, size: int, url: str, status: int = 200,
                     headers: Mapping[str, str] | None = None, final_url: str | None = None,
                     redirects: Iterable[Hop] = (), kind: str | None = None) -> LandedFile:
        """Archive a body that was streamed to ``partial`` (``partial_path``), already fsynced."""
        name = self._new_name(file_name)
        os.replace(partial, self.path / name)
        self.bytes_written += size
        return self._record(name, sha256, url, status, headers, "now", final_url, redirects, kind)

    def _new_name(self, file_name: str) -> str:
        name = safe_file_name(file_name)
        if any(existing.file == name for existing in self.files):
            raise ValueError(f"{name} is already in landing {self.path}")
        return name

    def _record(self, name: str, sha256: str, url: str, status: int, headers: Mapping[str, str] | None,
                fetched_at: str | None, final_url: str | None, redirects: Iterable[Hop], kind: str | None) -> LandedFile:
        headers = headers or {}
        landed = LandedFile(
            source=self.source,
            landing_dir=self.path,
            file=name,
            url=url,
            sha256=sha256,
            status=status,
            content_type=headers.get("Content-Type"),
            etag=headers.get("ETag"),
            last_modified=headers.get("Last-Modified"),
            fetched_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds") if fetched_at == "now" else fetched_at,
            final_url=final_url or url,
            redirects=tuple(redirects),
            kind=kind,
        )
        self.files.append(landed)
        return landed

    def finish(self, complete: bool = True, error: str | None = None) -> Landing:
        manifest = {
            "source": self.source,
            "fetch_id": self.fetch_id,
            "complete": complete,
            "licence": self.licence,
            "metadata": self.metadata,
            "entries": [landed.to_manifest() for landed in self.files],
        }
        if error:
            manifest["error"] = error
        _write_atomically(self.path / MANIFEST_NAME, json.dumps(manifest, indent=2).encode())
        return Landing(self.source, self.fetch_id, self.path, tuple(self.files), self.licence, self.metadata)




def refetches_to_prune(landings: list[Landing]) -> dict[str, str]:
    """Which landings repeat an earlier one's data files byte for byte: fetch id -> the first landing
    of the same release. The first landing of each distinct release stays (it dates the release) and
    so does the newest (the one the last run read); the ones in between are redundant copies."""
    by_bytes: dict[str, list[Landing]] = {}
    for landing in sorted(landings, key=lambda item: item.fetch_id):
        by_bytes.setdefault(landing.release_sha256, []).append(landing)
    return {copy.fetch_id: same[0].fetch_id for same in by_bytes.values() for copy in same[1:-1]}


def prune_identical_refetches(root: Path, source: str) -> list[str]:
    """Apply the retention policy to ``root/source``: keep every distinct release, remove the
    identical re-fetches ``refetches_to_prune`` names (their files and directory), and log each one
    in ``refetches.jsonl`` (fetch id, fetch time, fingerprint, which landing holds the same bytes), so a
    raw row whose ``fetch_id`` names a pruned fetch still leads to its bytes. Interrupted fetches
    (no complete manifest) are kept as the evidence of what failed. Returns the pruned fetch ids."""
    landings = {landing.fetch_id: landing for landing in list_landings(root, source)}
    pruned = []
    for fetch_id, kept in sorted(refetches_to_prune(list(landings.values())).items()):
        landing = landings[fetch_id]
        record = {"fetch_id": fetch_id, "fetched_at": min((f.fetched_at or "" for f in landing.files), default=None),
                  "release_sha256": landing.release_sha256, "same_release_as": kept,
                  "pruned_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
        with open(root / source / REFETCH_LOG_NAME, "a", encoding="utf-8") as log:
            log.write(json.dumps(record) + "\n")
        # the manifest goes first: a crash half-way leaves files without a manifest, never listed
        (landing.path / MANIFEST_NAME).unlink()
        shutil.rmtree(landing.path)
        pruned.append(fetch_id)
    return pruned


def _date_of_http_header(value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        return parsedate_to_datetime(value).date()
    except (TypeError, ValueError):
        return None


def manifest_release_date(metadata: Mapping) -> dt.date | None:
    """The release date a snapshot's manifest states (``metadata.release``, e.g. "2025-11 or earlier
    (copy committed 2025-11-29)"), if any."""
    match = _ISO_DATE.search(str(metadata.get("release", "")))
    return dt.date.fromisoformat(match.group(0)) if match else None


def stated_release_date(landed: LandedFile, landing: Landing) -> dt.date | None:
    """The date the publisher (Last-Modified) or the snapshot's manifest gives a file, if any."""
    return _date_of_http_header(landed.last_modified) or manifest_release_date(landing.metadata)


def archived_release_dates(roots: Iterable[Path], source: str) -> dict[str, dt.date]:
    """For the bytes of every file archived for ``source`` under ``roots`` (sha256 -> date): the
    earliest date any copy of those exact bytes was given by its publisher or snapshot manifest, else
    the day they were first received. The date belongs to the content: fetching the same bytes
    again never makes them newer, and an old release served without a date gets the date it had
    when it was archived before."""
    stated: dict[str, dt.date] = {}
    first_seen: dict[str, dt.date] = {}
    for root in dict.fromkeys(Path(root).resolve() for root in roots):
        for landing in list_landings(root, source):
            for landed in landing.files:
                date = stated_release_date(landed, landing)
                if date is not None:
                    stated[landed.sha256] = min(date, stated.get(landed.sha256, date))
                if landed.fetched_at:
                    seen = dt.date.fromisoformat(landed.fetched_at[:10])
                    first_seen[landed.sha256] = min(seen, first_seen.get(landed.sha256, seen))
    return {**first_seen, **stated}


def landings_fingerprint(landings: Iterable[Landing]) -> str:
    """One sha256 over every landing's files: equal when a source sent the same bytes again
    (a new live fetch of unchanged files gets a new fetch id but the same fingerprint)."""
    digest = hashlib.sha256()
    for landing_sha256 in sorted(landing.sha256 for landing in landings):
        digest.update(f"{landing_sha256}\n".encode())
    return digest.hexdigest()


def describe_landings(landings: Iterable[Landing]) -> list[dict]:
    return [{"fetch_id": landing.fetch_id, "files": len(landing.files), "sha256": landing.sha256} for landing in landings]

