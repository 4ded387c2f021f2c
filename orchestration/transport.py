"""Source transport shared by every source: live HTTP fetches into a landing archive, or replay.

A *landing* is one fetch: a directory ``<root>/<source>/<fetch_id>/`` holding the files exactly as
received plus ``manifest.json`` (url, status, fetched_at, sha256, etag/last-modified, licence per
file). Live mode writes a new landing per run; replay mode reads the landings of a snapshot
directory with the same layout. Everything after this module (parsing, validation, loading) sees
only landings, so replay and live share all of that code.

A landing is loadable only when its manifest says ``"complete": true``; the manifest is written
last and atomically, so a fetch that died half-way is archived but never mistaken for a whole one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ReadTimeoutError
from urllib3.util.retry import Retry

from orchestration.errors import SourceError, SourceFetchError, SourceFormatError

MANIFEST_NAME = "manifest.json"
USER_AGENT = "kpi-warehouse/0.1 (open-source KPI data warehouse; +https://github.com/kpi-warehouse)"
RETRY_STATUSES = (429, 500, 502, 503, 504)
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


@dataclass(frozen=True)
class LandedFile:
    """One response (or snapshot file) as archived, with what the manifest says of it."""

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
        digest = hashlib.sha256()
        for landed in sorted(self.files, key=lambda f: f.file):
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

    def add(self, file_name: str, body: bytes, url: str, status: int = 200, headers: dict | None = None,
            fetched_at: str | None = "now") -> LandedFile:
        """Archive one response as received; ``fetched_at=None`` records an unknown fetch time."""
        name = safe_file_name(file_name)
        if any(existing.file == name for existing in self.files):
            raise ValueError(f"{name} is already in landing {self.path}")
        _write_atomically(self.path / name, body)
        headers = headers or {}
        landed = LandedFile(
            source=self.source,
            landing_dir=self.path,
            file=name,
            url=url,
            sha256=sha256_bytes(body),
            status=status,
            content_type=headers.get("Content-Type"),
            etag=headers.get("ETag"),
            last_modified=headers.get("Last-Modified"),
            fetched_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds") if fetched_at == "now" else fetched_at,
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


def http_session(retries: int, backoff_factor: float) -> requests.Session:
    """A requests session that retries 429/5xx (honouring Retry-After), resets and timeouts on GET."""
    retry = Retry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        backoff_factor=backoff_factor,
        backoff_max=60,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=frozenset({"GET", "HEAD"}),
        respect_retry_after_header=True,
        raise_on_status=False,
    )
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = USER_AGENT
    return session


def looks_like_html(body: bytes) -> bool:
    head = body[:2048].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html", b"<head", b"<body")) or b"<html" in head[:512]


# What a body must look like, by the kind of file a source expects; checked before parsing so an
# HTML challenge page or a truncated download gets its own clear message.
_KIND_SIGNATURES: dict[str, Callable[[bytes], bool]] = {
    "json": lambda body: body.lstrip()[:1] in (b"[", b"{"),
    "xlsx": lambda body: body[:4] == b"PK\x03\x04",
    "pdf": lambda body: body[:5] == b"%PDF-",
    "csv": lambda body: b"\0" not in body[:4096],
    "html": looks_like_html,
}


def check_body_kind(source: str, location: str, body: bytes, kind: str) -> None:
    """Raise a SourceFormatError when ``body`` is not a ``kind`` file (empty, HTML, truncated, other)."""
    if not body:
        raise SourceFormatError(source, location, f"empty body where a {kind} file was expected")
    if kind != "html" and looks_like_html(body):
        raise SourceFormatError(
            source, location, f"received an HTML page (a bot challenge, error or maintenance page?) where a {kind} file was expected"
        )
    if not _KIND_SIGNATURES[kind](body):
        raise SourceFormatError(source, location, f"body is not a {kind} file (starts with {body[:16]!r})")
    if kind == "xlsx" and b"PK\x05\x06" not in body[-65536:]:
        raise SourceFormatError(source, location, "workbook is truncated (no end of zip archive)")
    if kind == "pdf" and b"%%EOF" not in body[-2048:]:
        raise SourceFormatError(source, location, "PDF is truncated (no %%EOF marker)")


class LiveFetcher:
    """GETs URLs of one source's host, archiving every response as received before checking it."""

    def __init__(self, source: str, writer: LandingWriter, session: requests.Session, allowed_base_url: str,
                 timeout_seconds: float, retries: int, backoff_factor: float = 1.0):
        self.source = source
        self.writer = writer
        self.session = session
        self.allowed_host = urlsplit(allowed_base_url).netloc
        self.timeout_seconds = timeout_seconds
        self.retries = retries
        self.backoff_factor = backoff_factor

    def for_base_url(self, base_url: str) -> "LiveFetcher":
        """A fetcher for a second configured host of the same source, archiving into the same landing."""
        return LiveFetcher(self.source, self.writer, self.session, base_url, self.timeout_seconds, self.retries,
                           self.backoff_factor)

    def get_text(self, url: str, file_name: str) -> str:
        """An HTML page (a publisher's index of files), archived like any other response."""
        landed = self.get(url, file_name, kind="html")
        return landed.read_bytes().decode("utf-8", errors="replace")

    def get(self, url: str, file_name: str, kind: str) -> LandedFile:
        host = urlsplit(url).netloc
        if host != self.allowed_host:
            raise SourceFetchError(self.source, url, f"refusing to fetch from {host!r}: this source only fetches from {self.allowed_host!r}")
        response = self._get_whole_body(url)
        landed = self.writer.add(file_name, response.content, url=url, status=response.status_code, headers=dict(response.headers))
        if response.status_code != 200:
            raise SourceFetchError(
                self.source, url, f"HTTP {response.status_code} {response.reason} (after up to {self.retries} retries); body archived at {landed.path}"
            )
        expected_length = response.headers.get("Content-Length")
        if expected_length and expected_length.isdigit() and int(expected_length) != len(response.content):
            raise SourceFormatError(self.source, url, f"truncated download: {len(response.content)} of {expected_length} bytes")
        check_body_kind(self.source, url, response.content, kind)
        return landed

    def _get_whole_body(self, url: str) -> requests.Response:
        """GET with urllib3's retries (connect, status, reset before the response) and, around them,
        retries of a body that broke off mid-transfer (a dropped connection or a stall while reading
        the body), which urllib3 does not retry because requests reads the body after it returns."""
        attempt = 0
        while True:
            attempt += 1
            try:
                return self.session.get(url, timeout=self.timeout_seconds)
            except requests.RequestException as exc:
                if attempt <= self.retries and _body_broke_off(exc):
                    time.sleep(min(60.0, self.backoff_factor * 2 ** (attempt - 1)))
                    continue
                tries = f"{attempt} attempt(s)" if _body_broke_off(exc) else f"up to {self.retries} retries"
                raise SourceFetchError(self.source, url, f"request failed after {tries}: {_describe(exc)}") from None


def _body_broke_off(exc: requests.RequestException) -> bool:
    """A response whose body was cut short or stalled after the headers arrived."""
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return True
    reason = exc.args[0] if exc.args else None
    return isinstance(exc, requests.exceptions.ConnectionError) and isinstance(reason, ReadTimeoutError)


def _describe(exc: requests.RequestException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text[:300]}"


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
) -> list[Landing]:
    """The landings to parse for one source: a fresh live fetch, or every landing of the snapshot."""
    if mode == "replay":
        landings = list_landings(snapshot_dir, source)
        if not landings:
            raise SourceError(source, str(snapshot_dir / source), "replay snapshot has no complete landing for this source")
        return landings
    writer = LandingWriter(landing_dir, source, licence=licence)
    fetcher = LiveFetcher(source, writer, http_session(retries, backoff_factor), base_url, timeout_seconds, retries,
                          backoff_factor)
    try:
        metadata = fetch(fetcher)
    except BaseException as exc:
        writer.finish(complete=False, error=str(exc)[:2000])
        raise
    writer.metadata.update(metadata or {})
    return [writer.finish(complete=True)]


def landings_fingerprint(landings: Iterable[Landing]) -> str:
    """One sha256 over every landing's files: equal when a source sent the same bytes again
    (a new live fetch of unchanged files gets a new fetch id but the same fingerprint)."""
    digest = hashlib.sha256()
    for landing_sha256 in sorted(landing.sha256 for landing in landings):
        digest.update(f"{landing_sha256}\n".encode())
    return digest.hexdigest()


def describe_landings(landings: Iterable[Landing]) -> list[dict]:
    return [{"fetch_id": landing.fetch_id, "files": len(landing.files), "sha256": landing.sha256} for landing in landings]
