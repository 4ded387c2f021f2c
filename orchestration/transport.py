"""Source transport shared by every source: live HTTP fetches into a landing archive, or replay.

A *landing* is one fetch: a directory ``<root>/<source>/<fetch_id>/`` holding the files exactly as
received plus ``manifest.json`` (url, status, fetched_at, sha256, etag/last-modified, licence per
file). Live mode writes a new landing per run; replay mode reads the landings of a snapshot
directory with the same layout. Everything after this module (parsing, validation, loading) sees
only landings, so replay and live share all of that code.

A landing is loadable only when its manifest says ``"complete": true``; the manifest is written
last and atomically, so a fetch that died half-way is archived but never mistaken for a whole one.

Live requests (``LiveFetcher``) are bounded in time: each request has a total deadline (every
attempt, redirect, wait and byte of the body included) and so does each source's whole fetch; a
watchdog shuts the socket when a deadline passes, so a server that stalls or trickles its answer a
byte at a time fails at the deadline instead of holding the run. Only what can succeed on a retry is
retried (connection faults, timeouts, 429 and 5xx, honouring ``Retry-After`` within the deadline).
Redirects are followed by hand, each hop only to the source's own host, and every hop is recorded
in the manifest with the final URL.

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
import socket
import threading
import time
from dataclasses import dataclass, field
from dataclasses import replace as dataclass_replace
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Callable, Iterable, Mapping, NamedTuple
from urllib.parse import urljoin, urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.exceptions import InvalidHeader
from urllib3.util.retry import Retry

from orchestration.errors import SourceError, SourceFetchError, SourceFormatError

MANIFEST_NAME = "manifest.json"
REFETCH_LOG_NAME = "refetches.jsonl"
USER_AGENT = "kpi-warehouse/0.1 (open-source KPI data warehouse; +https://github.com/kpi-warehouse)"
RETRY_STATUSES = (429, 500, 502, 503, 504)
REDIRECT_STATUSES = (301, 302, 303, 307, 308)
MAX_REDIRECTS = 5
MAX_BACKOFF_SECONDS = 60.0
DEFAULT_REQUEST_DEADLINE_SECONDS = 300.0
DEFAULT_FETCH_DEADLINE_SECONDS = 900.0
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

    def add(self, file_name: str, body: bytes, url: str, status: int = 200, headers: Mapping[str, str] | None = None,
            fetched_at: str | None = "now", final_url: str | None = None, redirects: Iterable[Hop] = (),
            kind: str | None = None) -> LandedFile:
        """Archive one response as received; ``fetched_at=None`` records an unknown fetch time.
        ``headers`` may be requests' case-insensitive headers (HTTP/2 servers send them lower-case)."""
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


# ------------------------------------------------------------------ deadlines


@dataclass(frozen=True)
class Deadline:
    """A moment (``time.monotonic()``) by which something must be done, and what it is called."""

    at: float
    seconds: float
    what: str  # e.g. "request deadline"

    @classmethod
    def after(cls, seconds: float, what: str) -> "Deadline":
        return cls(time.monotonic() + seconds, seconds, what)

    def remaining(self) -> float:
        return self.at - time.monotonic()


_watched = threading.local()


class _Watchdog:
    """Shuts the socket of the connection in use when the deadline passes, so that a read blocked
    on a server that stalls or trickles (even its headers, a byte at a time) returns at once.
    A per-read timeout cannot do this: each trickled byte resets it."""

    def __init__(self, deadline: Deadline):
        self.expired = False
        self._socket = None
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(0.0, deadline.remaining()), self._expire)
        self._timer.daemon = True

    def __enter__(self) -> "_Watchdog":
        _watched.watchdog = self
        self._timer.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._timer.cancel()
        _watched.watchdog = None

    def watch(self, connection) -> None:
        # the socket itself: http.client hands it to the response and drops it from the connection
        # when the server will close it, so the connection may no longer know it at the deadline
        sock = getattr(connection, "sock", None)
        if sock is None:
            return
        with self._lock:
            self._socket = sock
            if self.expired:
                _shut(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            if self._socket is not None:
                _shut(self._socket)


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def _watch(connection) -> None:
    watchdog = getattr(_watched, "watchdog", None)
    if watchdog is not None:
        watchdog.watch(connection)


class _WatchedConnection:
    """Tells the current request's watchdog which connection it is using (new or reused)."""

    def connect(self):
        super().connect()
        _watch(self)

    def request(self, *args, **kwargs):
        _watch(self)
        return super().request(*args, **kwargs)


class _WatchedHTTPConnection(_WatchedConnection, urllib3.connection.HTTPConnection):
    pass


class _WatchedHTTPSConnection(_WatchedConnection, urllib3.connection.HTTPSConnection):
    pass


class _WatchedHTTPConnectionPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSConnectionPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


_WATCHED_POOLS = {"http": _WatchedHTTPConnectionPool, "https": _WatchedHTTPSConnectionPool}


class _WatchedAdapter(HTTPAdapter):
    """requests' adapter with connections a deadline's watchdog can shut (proxied ones too)."""

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(_WATCHED_POOLS)

    def proxy_manager_for(self, proxy, **proxy_kwargs):
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = dict(_WATCHED_POOLS)
        return manager


def http_session() -> requests.Session:
    """A requests session for ``LiveFetcher``: no retries or redirects of its own (the fetcher decides
    both, within its deadlines), connections a deadline can shut, a clear User-Agent."""
    session = requests.Session()
    adapter = _WatchedAdapter(max_retries=0)
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


@dataclass(frozen=True)
class _Reply:
    """One whole response: the last of a request's redirects and retries."""

    url: str  # the URL that answered (after redirects)
    status: int
    reason: str
    headers: Mapping[str, str]
    body: bytes
    redirects: tuple[Hop, ...]
    retries: int


class _DeadlineSpent(Exception):
    pass


class LiveFetcher:
    """GETs URLs of one source's host, archiving every response as received before checking it.

    Each ``get`` has a total deadline (``request_deadline_seconds``: attempts, waits, redirects and
    the whole body); all the gets of one source share ``fetch_deadline``. Connection faults,
    timeouts, 429 and 5xx are retried ``retries`` times with exponential backoff (or the server's
    ``Retry-After``) while the deadline allows; nothing else is retried. A redirect is followed only
    to the fetcher's own host (and never from https to http)."""

    def __init__(self, source: str, writer: LandingWriter, session: requests.Session, allowed_base_url: str,
                 timeout_seconds: float, retries: int, backoff_factor: float = 1.0, *,
                 request_deadline_seconds: float = DEFAULT_REQUEST_DEADLINE_SECONDS,
                 fetch_deadline: Deadline | None = None):
        self.source = source
        self.writer = writer
        self.session = session
        self.allowed_host = urlsplit(allowed_base_url).netloc
        self.timeout_seconds = timeout_seconds
        self.retries = retries
        self.backoff_factor = backoff_factor
        self.request_deadline_seconds = request_deadline_seconds
        self.fetch_deadline = fetch_deadline

    def for_base_url(self, base_url: str) -> "LiveFetcher":
        """A fetcher for a second configured host of the same source, archiving into the same landing
        within the same fetch deadline."""
        return LiveFetcher(self.source, self.writer, self.session, base_url, self.timeout_seconds, self.retries,
                           self.backoff_factor, request_deadline_seconds=self.request_deadline_seconds,
                           fetch_deadline=self.fetch_deadline)

    def get_text(self, url: str, file_name: str) -> str:
        """An HTML page (a publisher's index of files), archived like any other response."""
        landed = self.get(url, file_name, kind="html")
        return landed.read_bytes().decode("utf-8", errors="replace")

    def get(self, url: str, file_name: str, kind: str) -> LandedFile:
        host = urlsplit(url).netloc
        if host != self.allowed_host:
            raise SourceFetchError(self.source, url, f"refusing to fetch from {host!r}: this source only fetches from {self.allowed_host!r}")
        reply = self._get_whole_body(url)
        landed = self.writer.add(file_name, reply.body, url=url, status=reply.status, headers=reply.headers,
                                 final_url=reply.url, redirects=reply.redirects, kind=kind)
        if reply.status != 200:
            raise SourceFetchError(
                self.source, url, f"HTTP {reply.status} {reply.reason} (after {reply.retries} retries); body archived at {landed.path}",
                retryable=reply.status in RETRY_STATUSES,
            )
        expected_length = reply.headers.get("Content-Length")
        encoded = reply.headers.get("Content-Encoding", "identity").lower() not in ("", "identity")
        if not encoded and expected_length and expected_length.isdigit() and int(expected_length) != len(reply.body):
            raise SourceFormatError(self.source, url, f"truncated download: {len(reply.body)} of {expected_length} bytes")
        check_body_kind(self.source, url, reply.body, kind)
        return landed

    def _deadline(self) -> Deadline:
        request = Deadline.after(self.request_deadline_seconds, "request deadline")
        if self.fetch_deadline is not None and self.fetch_deadline.at < request.at:
            return self.fetch_deadline
        return request

    def _get_whole_body(self, url: str) -> _Reply:
        """The response to ``url`` after redirects and retries, within the request's deadline."""
        deadline = self._deadline()
        started = time.monotonic()
        current, hops, failures = url, [], 0
        while True:
            try:
                reply = self._exchange(current, deadline)
            except _DeadlineSpent:
                raise SourceFetchError(
                    self.source, url, f"gave up after {time.monotonic() - started:.1f} s: the {deadline.what} of "
                                      f"{deadline.seconds:g} s passed before the response was complete (a stalled or trickling server?)",
                ) from None
            except requests.RequestException as exc:
                failures += 1
                if failures <= self.retries and self._wait(self._backoff(failures), deadline):
                    continue
                raise SourceFetchError(self.source, url, f"request failed after {failures} attempt(s): {_describe(exc)}",
                                       retryable=True) from None
            if reply.status in REDIRECT_STATUSES and reply.headers.get("Location"):
                target = self._redirect_target(url, current, reply.headers["Location"])
                hops.append(Hop(current, reply.status, target))
                if len(hops) > MAX_REDIRECTS:
                    raise SourceFetchError(self.source, url, f"more than {MAX_REDIRECTS} redirects: {[hop.url for hop in hops]}")
                current = target
                continue
            if reply.status in RETRY_STATUSES and failures < self.retries:
                failures += 1
                if self._wait(self._retry_after(reply) or self._backoff(failures), deadline):
                    continue
                failures -= 1  # no time left for that retry
            return dataclass_replace(reply, redirects=tuple(hops), retries=failures)

    def _exchange(self, url: str, deadline: Deadline) -> _Reply:
        """One GET of ``url`` (no redirect followed) with its whole body, or _DeadlineSpent."""
        remaining = deadline.remaining()
        if remaining <= 0:
            raise _DeadlineSpent()
        with _Watchdog(deadline) as watchdog:
            try:
                response = self.session.get(url, timeout=min(self.timeout_seconds, remaining), stream=True,
                                            allow_redirects=False)
                try:
                    body = b"".join(response.iter_content(chunk_size=65536))
                finally:
                    response.close()
            except requests.RequestException:
                if watchdog.expired or deadline.remaining() <= 0:
                    raise _DeadlineSpent() from None
                raise
        return _Reply(url, response.status_code, response.reason or "", response.headers, body, (), 0)

    def _redirect_target(self, requested: str, current: str, location: str) -> str:
        target = urljoin(current, location)
        parts = urlsplit(target)
        if parts.netloc != self.allowed_host or parts.scheme not in ("http", "https"):
            raise SourceFetchError(self.source, requested, f"refusing the redirect from {current} to {target}: "
                                                           f"this source only fetches from {self.allowed_host!r}")
        if urlsplit(current).scheme == "https" and parts.scheme == "http":
            raise SourceFetchError(self.source, requested, f"refusing the redirect from {current} to {target}: https to plain http")
        return target

    def _backoff(self, failures: int) -> float:
        return min(MAX_BACKOFF_SECONDS, self.backoff_factor * 2 ** (failures - 1))

    @staticmethod
    def _retry_after(reply: _Reply) -> float | None:
        value = reply.headers.get("Retry-After")
        if not value:
            return None
        try:
            return Retry().parse_retry_after(value)
        except InvalidHeader:
            return None

    @staticmethod
    def _wait(seconds: float, deadline: Deadline) -> bool:
        """Sleep before a retry, unless the retry could not start before the deadline."""
        if seconds >= deadline.remaining():
            return False
        time.sleep(seconds)
        return True


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
    request_deadline_seconds: float = DEFAULT_REQUEST_DEADLINE_SECONDS,
    fetch_deadline_seconds: float = DEFAULT_FETCH_DEADLINE_SECONDS,
) -> list[Landing]:
    """The landings to parse for one source: a fresh live fetch, or every landing of the snapshot.

    A live fetch that completes also applies the archive's retention policy to the source
    (``prune_identical_refetches``), so the daily run keeps the landing archive from growing with
    copies of the same release."""
    if mode == "replay":
        landings = list_landings(snapshot_dir, source)
        if not landings:
            raise SourceError(source, str(snapshot_dir / source), "replay snapshot has no complete landing for this source")
        return landings
    writer = LandingWriter(landing_dir, source, licence=licence)
    fetcher = LiveFetcher(source, writer, http_session(), base_url, timeout_seconds, retries, backoff_factor,
                          request_deadline_seconds=request_deadline_seconds,
                          fetch_deadline=Deadline.after(fetch_deadline_seconds, "source fetch deadline"))
    try:
        metadata = fetch(fetcher)
    except BaseException as exc:
        writer.finish(complete=False, error=str(exc)[:2000])
        raise
    writer.metadata.update(metadata or {})
    landing = writer.finish(complete=True)
    prune_identical_refetches(landing_dir, source)
    return [landing]


# ------------------------------------------------------------------ retention


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


# ------------------------------------------------------------------ release dates


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
