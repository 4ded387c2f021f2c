"""The HTTP client of live fetches: bounded in time, retrying only what can succeed.

Each request has a total deadline (every attempt, redirect, wait and byte of the body included) and
so does each source's whole fetch; a watchdog shuts the socket when a deadline passes, so a server
that stalls or trickles its answer a byte at a time fails at the deadline instead of holding the run.
Only what can succeed on a retry is retried (connection faults, timeouts, 429 and 5xx, honouring
``Retry-After`` within the deadline). Redirects are followed by hand, each hop only to the source's
own host, and every hop is recorded in the landing's manifest with the final URL.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass
from dataclasses import replace as dataclass_replace
from typing import Callable, Mapping
from urllib.parse import urljoin, urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.exceptions import InvalidHeader
from urllib3.util.retry import Retry

from orchestration.core.errors import SourceFetchError, SourceFormatError
from orchestration.fetch.archive import Hop, LandedFile, LandingWriter

USER_AGENT = "kpi-warehouse/0.1 (open-source KPI data warehouse; +https://github.com/kpi-warehouse)"
RETRY_STATUSES = (429, 500, 502, 503, 504)
REDIRECT_STATUSES = (301, 302, 303, 307, 308)
MAX_REDIRECTS = 5
MAX_BACKOFF_SECONDS = 60.0
DEFAULT_REQUEST_DEADLINE_SECONDS = 300.0
DEFAULT_FETCH_DEADLINE_SECONDS = 900.0


_watched = threading.local()




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

