"""The HTTP client of live fetches: bounded in time, retrying only what can succeed.

Each request has a total deadline (every attempt, redirect, wait and byte of the body included) and
so does each source's whole fetch; a watchdog shuts the socket when a deadline passes, so a server
that stalls or trickles its answer a byte at a time fails at the deadline instead of holding the run.
Only what can succeed on a retry is retried (connection faults, timeouts, 429 and 5xx, honouring
``Retry-After`` within the deadline). Redirects are followed by hand, each hop only to the source's
own host, and every hop is recorded in the landing's manifest with the final URL.
"""

from __future__ import annotations

import csv
import io
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
from orchestration.fetch.limits import (
    ARCHIVE_BUDGET_SETTING,
    MAX_BODY_SETTING,
    MAX_LANDING_SETTING,
    MAX_RESPONSE_SETTING,
    SAMPLE_BYTES,
    ArchiveBudget,
    FetchLimits,
    describe_bytes,
)
from orchestration.fetch.stream import (
    ACCEPT_ENCODING,
    CorruptEncoding,
    OverLimit,
    StreamedBody,
    UnsupportedEncoding,
    keep_sample,
    stream_to_file,
)

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
    session.headers["Accept-Encoding"] = ACCEPT_ENCODING  # what orchestration/fetch/stream.py decodes
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
    check_head_and_tail(source, location, body[:65536], body[-65536:], kind)


def check_head_and_tail(source: str, location: str, head: bytes, tail: bytes, kind: str) -> None:
    """``check_body_kind`` on a body's first and last 64 KiB (a streamed body is never read whole)."""
    body = head
    if not body:
        raise SourceFormatError(source, location, f"empty body where a {kind} file was expected")
    if kind != "html" and looks_like_html(body):
        raise SourceFormatError(
            source, location, f"received an HTML page (a bot challenge, error or maintenance page?) where a {kind} file was expected"
        )
    if not _KIND_SIGNATURES[kind](body):
        raise SourceFormatError(source, location, f"body is not a {kind} file (starts with {body[:16]!r})")
    if kind == "xlsx" and b"PK\x05\x06" not in tail[-65536:]:
        raise SourceFormatError(source, location, "workbook is truncated (no end of zip archive)")
    if kind == "pdf" and b"%%EOF" not in tail[-2048:]:
        raise SourceFormatError(source, location, "PDF is truncated (no %%EOF marker)")
    if kind == "csv":
        problem = csv_truncation(head, tail)
        if problem:
            raise SourceFormatError(source, location, f"CSV is truncated: {problem}")


def csv_truncation(head: bytes, tail: bytes) -> str | None:
    """What shows a CSV was cut mid-row, or None. A CSV has no end marker; a cut inside a row leaves a
    last line with fewer fields than the header, or a quoted field never closed. A body of at most
    64 KiB (head is the whole of it) is parsed whole; a longer one is judged by its last line, and a
    last line whose quotes do not close is judged only when no other line of the tail spans lines."""
    header_line = head.decode("utf-8-sig", "replace").splitlines()[:1]
    if not header_line:
        return None
    header_fields = len(next(csv.reader([header_line[0]])))
    if len(head) < 65536 and head == tail:
        try:
            records = [record for record in csv.reader(io.StringIO(head.decode("utf-8-sig", "replace")), strict=True) if record]
        except csv.Error:
            return "it ends inside a quoted field"
        last_fields = len(records[-1])
    else:
        lines = [line for line in tail.decode("utf-8", "replace").splitlines()[1:] if line.strip()]  # [0] may be cut
        if not lines:
            return None
        if lines[-1].count('"') % 2:
            spanning = any(line.count('"') % 2 for line in lines[:-1])
            return None if spanning else "its last line ends inside a quoted field"
        last_fields = len(next(csv.reader([lines[-1]])))
    if last_fields < header_fields:
        return f"its last line has {last_fields} of the header's {header_fields} fields"
    return None


@dataclass(frozen=True)
class _Reply:
    """One whole response: the last of a request's redirects and retries."""

    url: str  # the URL that answered (after redirects)
    status: int
    reason: str
    headers: Mapping[str, str]
    body: StreamedBody  # streamed to the landing's partial file
    redirects: tuple[Hop, ...]
    retries: int


class _DeadlineSpent(Exception):
    pass


# Limits of a fetcher made without any (unit tests of the transport): generous, never unbounded.
UNDECLARED_LIMITS = FetchLimits.mib(256, 256, 1024)


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
                 fetch_deadline: Deadline | None = None, limits: FetchLimits | None = None,
                 budget: ArchiveBudget | None = None):
        self.limits = limits or UNDECLARED_LIMITS
        self.budget = budget
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
                           fetch_deadline=self.fetch_deadline, limits=self.limits, budget=self.budget)

    def get_text(self, url: str, file_name: str) -> str:
        """An HTML page (a publisher's index of files), archived like any other response."""
        landed = self.get(url, file_name, kind="html")
        return landed.read_bytes().decode("utf-8", errors="replace")

    def get(self, url: str, file_name: str, kind: str) -> LandedFile:
        host = urlsplit(url).netloc
        if host != self.allowed_host:
            raise SourceFetchError(self.source, url, f"refusing to fetch from {host!r}: this source only fetches from {self.allowed_host!r}")
        reply = self._get_whole_body(url, file_name)
        body = reply.body
        landed = self.writer.add_streamed(file_name, body.path, body.sha256, body.size, url=url, status=reply.status,
                                          headers=reply.headers, final_url=reply.url, redirects=reply.redirects, kind=kind)
        if reply.status != 200:
            raise SourceFetchError(
                self.source, url, f"HTTP {reply.status} {reply.reason} (after {reply.retries} retries); body archived at {landed.path}",
                retryable=reply.status in RETRY_STATUSES,
            )
        expected_length = reply.headers.get("Content-Length")
        encoded = reply.headers.get("Content-Encoding", "identity").lower() not in ("", "identity")
        if not encoded and expected_length and expected_length.isdigit() and int(expected_length) != body.size:
            raise SourceFormatError(self.source, url, f"truncated download: {body.size} of {expected_length} bytes")
        check_head_and_tail(self.source, url, body.head, body.tail, kind)
        return landed

    def _deadline(self) -> Deadline:
        request = Deadline.after(self.request_deadline_seconds, "request deadline")
        if self.fetch_deadline is not None and self.fetch_deadline.at < request.at:
            return self.fetch_deadline
        return request

    def _get_whole_body(self, url: str, file_name: str) -> _Reply:
        """The response to ``url`` after redirects and retries, within the request's deadline, its body
        streamed to the landing's partial file for ``file_name``."""
        deadline = self._deadline()
        started = time.monotonic()
        current, hops, failures = url, [], 0
        while True:
            try:
                reply = self._exchange(current, deadline, url, file_name)
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

    def _exchange(self, url: str, deadline: Deadline, requested: str, file_name: str) -> _Reply:
        """One GET of ``url`` (no redirect followed), its body streamed to the partial file under the
        source's limits, or _DeadlineSpent. A failed exchange leaves no partial body behind (one over
        a limit leaves a sample of SAMPLE_BYTES, named in the error)."""
        remaining = deadline.remaining()
        if remaining <= 0:
            raise _DeadlineSpent()
        partial = self.writer.partial_path(file_name)
        if partial.exists():  # the body of an earlier attempt or redirect hop: replaced by this one
            self._refund(partial.stat().st_size)
            partial.unlink()
        charged = 0

        def may_write(count: int) -> str | None:
            nonlocal charged
            if self.writer.bytes_written + charged + count > self.limits.max_landing_bytes:
                return (f"this fetch's files would pass {describe_bytes(self.limits.max_landing_bytes)} together, the "
                        f"landing limit of {self.source} (its SPEC's FetchLimits; {MAX_LANDING_SETTING} raises it)")
            if self.budget is not None and not self.budget.charge(count):
                return (f"the landing archive {self.budget.root} would pass its disk budget of "
                        f"{describe_bytes(self.budget.max_bytes)} ({ARCHIVE_BUDGET_SETTING})")
            charged += count
            return None

        try:
            with _Watchdog(deadline) as watchdog:
                try:
                    response = self.session.get(url, timeout=min(self.timeout_seconds, remaining), stream=True,
                                                allow_redirects=False)
                    try:
                        body = stream_to_file(
                            lambda size: _read_raw(response, size), response.headers.get("Content-Encoding", ""), partial,
                            max_received=self.limits.max_response_bytes, max_size=self.limits.max_body_bytes,
                            may_write=may_write)
                    finally:
                        response.close()
                except requests.RequestException:
                    if watchdog.expired or deadline.remaining() <= 0:
                        raise _DeadlineSpent() from None
                    raise
                if watchdog.expired:  # a socket shut at the deadline reads as the end of the body
                    raise _DeadlineSpent()
        except OverLimit as over:
            sample = keep_sample(partial, SAMPLE_BYTES, self.writer.path / f"{partial.name.removesuffix('.partial').lstrip('.')}.over-limit-sample")
            self._refund(charged - min(charged, SAMPLE_BYTES))
            raise SourceFetchError(self.source, requested, f"refused a response over the limit: {over.what}"
                                   f"{_limit_setting_hint(over.what)}; the transfer was stopped there"
                                   + (f", and its first {describe_bytes(SAMPLE_BYTES)} kept at {sample}" if sample else "")) from None
        except UnsupportedEncoding as exc:
            partial.unlink(missing_ok=True)
            self._refund(charged)
            raise SourceFormatError(self.source, requested, f"unsupported Content-Encoding {exc}: only {ACCEPT_ENCODING} were asked for") from None
        except CorruptEncoding as exc:
            partial.unlink(missing_ok=True)
            self._refund(charged)
            raise SourceFormatError(self.source, requested, str(exc)) from None
        except BaseException:
            partial.unlink(missing_ok=True)
            self._refund(charged)
            raise
        return _Reply(url, response.status_code, response.reason or "", response.headers, body, (), 0)

    def _refund(self, count: int) -> None:
        if self.budget is not None and count > 0:
            self.budget.refund(count)

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


def _read_raw(response: requests.Response, size: int) -> bytes:
    """Up to ``size`` bytes of the body as sent (still compressed): orchestration/fetch/stream.py
    decodes them in bounded pieces. urllib3's own errors become requests' (a network fault)."""
    try:
        return response.raw.read(size, decode_content=False)
    except urllib3.exceptions.HTTPError as exc:
        raise requests.ConnectionError(exc) from None
    except OSError as exc:
        raise requests.ConnectionError(exc) from None


def _limit_setting_hint(what: str) -> str:
    if "received" in what:
        return f" (the response limit this source declares in its SPEC's FetchLimits; {MAX_RESPONSE_SETTING} raises it)"
    if "decompression" in what:
        return f" (the body limit this source declares in its SPEC's FetchLimits; {MAX_BODY_SETTING} raises it)"
    return ""


def _describe(exc: requests.RequestException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text[:300]}"

