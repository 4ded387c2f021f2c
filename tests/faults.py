"""Fault injection for the reliability tests: every source's stand-in publisher (tests/standins/)
served from the real snapshot bytes by pytest-httpserver, behind a small TCP proxy that can reset a connection, cut a body short or stall.

HTTP-level faults (a status code, an HTML page, an empty body, another content type, a missing
Last-Modified) are answered by the werkzeug handler; socket-level faults (a reset, a truncated body
under its full Content-Length, a read timeout, a trickle) by the proxy, because a WSGI handler cannot
break or slow its own connection. Each fault is
queued for one path and consumed by the next request of that path, so "503 then success" is
``faults.add(path, Status(503))``.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import socket
import struct
import threading
import time
from collections import defaultdict
from pathlib import Path
from urllib.parse import unquote, urlsplit

from werkzeug import Request, Response

from orchestration.config import load_settings
from orchestration.core.settings import Settings
from orchestration.sources.contract import SourceSpec
from orchestration.fetch.acquire import acquire_landings
from orchestration.fetch.archive import Landing
from orchestration.check.validation import ValidationReport, validate_frame
from tests.conftest import warehouse_env
from tests.standins import standin_publishers
from tests.standins.publisher import Publisher

HTML_CHALLENGE = b"<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>Checking your browser</body></html>"
HTML_MAINTENANCE = b"<html><body><h1>Down for maintenance</h1></body></html>"
LAST_MODIFIED = "Mon, 03 Nov 2025 12:00:00 GMT"


# ------------------------------------------------------------------------------------------ faults


@dataclasses.dataclass(frozen=True)
class Status:
    """Answer with this status (and headers, body) instead of the file."""
    code: int
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b"busy"
    content_type: str = "text/plain"


@dataclasses.dataclass(frozen=True)
class Body:
    """Answer 200 with this body instead of the file (an HTML page, an empty body, half the file)."""
    body: bytes | None = None  # None: the real file
    content_type: str | None = None  # None: the real content type
    keep: float | None = None  # serve only this fraction of the real file, with a matching length
    last_modified: str | None = LAST_MODIFIED  # None: no Last-Modified header (a publisher that gives no date)


@dataclasses.dataclass(frozen=True)
class Reset:
    """Read the request, then close the socket with SO_LINGER 0: the client sees ECONNRESET."""


@dataclasses.dataclass(frozen=True)
class CutBody:
    """Send the real headers (full Content-Length) and only ``keep`` of the body, then close."""
    keep: float = 0.5


@dataclasses.dataclass(frozen=True)
class Trickle:
    """Send the real response one byte every ``interval`` seconds: the body only (headers at once), or
    from the first byte of the status line. Each byte arrives well within the client's read timeout."""
    interval: float = 0.2
    headers_too: bool = False


@dataclasses.dataclass(frozen=True)
class Stall:
    """Read the request and answer nothing for ``seconds`` (longer than the client's read timeout)."""
    seconds: float = 1.5


class FaultQueue:
    """Faults per request path, each consumed by one request; every request is counted."""

    def __init__(self):
        self._lock = threading.Lock()
        self._faults: dict[str, list] = defaultdict(list)
        self.calls: dict[str, int] = defaultdict(int)
        self.request_seen = threading.Event()

    def add(self, path: str, *faults) -> None:
        with self._lock:
            self._faults[path].extend(faults)

    def take(self, path: str, layer: type | tuple[type, ...]):
        """The next fault of ``path`` if it belongs to ``layer`` (proxy or handler), consuming it."""
        with self._lock:
            queue = self._faults.get(path)
            if queue and isinstance(queue[0], layer):
                return queue.pop(0)
        return None

    def count(self, path: str) -> None:
        with self._lock:
            self.calls[path] += 1
        self.request_seen.set()


_PROXY_FAULTS = (Reset, CutBody, Stall, Trickle)


class FaultProxy:
    """A TCP proxy in front of the HTTP server that breaks connections on request."""

    def __init__(self, upstream: tuple[str, int], faults: FaultQueue):
        self.upstream = upstream
        self.faults = faults
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def url_for(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self) -> None:
        self._stop.set()
        self.listener.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(client,), daemon=True).start()

    def _handle(self, client: socket.socket) -> None:
        with client:
            request = b""
            while b"\r\n\r\n" not in request:
                chunk = client.recv(65536)
                if not chunk:
                    return
                request += chunk
            path = unquote(urlsplit(request.split(b" ", 2)[1].decode()).path)
            fault = self.faults.take(path, _PROXY_FAULTS)
            if isinstance(fault, (Reset, Stall)):  # never reaches the server: counted here
                self.faults.count(path)
            if isinstance(fault, Reset):
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                return  # closing with linger 0 sends RST
            if isinstance(fault, Stall):
                time.sleep(fault.seconds)
                return
            with socket.create_connection(self.upstream) as upstream:
                upstream.sendall(request)
                response = b""
                while chunk := upstream.recv(65536):
                    response += chunk
            if isinstance(fault, CutBody):
                head, _, body = response.partition(b"\r\n\r\n")
                response = head + b"\r\n\r\n" + body[: int(len(body) * fault.keep)]
            try:
                if isinstance(fault, Trickle):
                    self._trickle(client, response, fault)
                else:
                    client.sendall(response)
            except OSError:
                pass

    def _trickle(self, client: socket.socket, response: bytes, fault: Trickle) -> None:
        head, _, body = response.partition(b"\r\n\r\n")
        slow = response if fault.headers_too else body
        if not fault.headers_too:
            client.sendall(head + b"\r\n\r\n")
        for index in range(len(slow)):
            if self._stop.is_set():
                return
            client.sendall(slow[index:index + 1])  # raises once the client gave up and closed
            time.sleep(fault.interval)


# ------------------------------------------------------------------------------------------ publishers


class PublisherHandler:
    """The werkzeug handler: the real file, or the HTTP-level fault queued for its path."""

    def __init__(self, publishers: dict[str, Publisher], faults: FaultQueue):
        self.publishers = publishers
        self.files = {path: item for publisher in publishers.values() for path, item in publisher.files.items()}
        self.faults = faults

    def _path(self, request: Request) -> str:
        # a paged API is one path with a query: one "file" per page
        keys = (publisher.file_key(request.path, request.args) for publisher in self.publishers.values())
        return next((key for key in keys if key), request.path)

    def __call__(self, request: Request) -> Response:
        path = self._path(request)
        fault = self.faults.take(path, (Status, Body))
        self.faults.count(path)
        if path not in self.files:
            return Response("not found", status=404)
        body, content_type = self.files[path]
        if isinstance(fault, Status):
            return Response(fault.body, status=fault.code, headers=list(fault.headers), content_type=fault.content_type)
        last_modified = LAST_MODIFIED
        if isinstance(fault, Body):
            if fault.keep is not None:
                body = body[: int(len(body) * fault.keep)]
            elif fault.body is not None:
                body = fault.body
            content_type = fault.content_type or content_type
            last_modified = fault.last_modified
        return Response(body, content_type=content_type, headers={"Last-Modified": last_modified} if last_modified else {})


class LivePublishers:
    """Every publisher on one local server (behind the fault proxy); ``url`` is what sources fetch."""

    def __init__(self, httpserver, served: dict[str, Publisher] | None = None):
        self.faults = FaultQueue()
        self.publishers = standin_publishers() if served is None else served
        self.handler = PublisherHandler(self.publishers, self.faults)
        for path in set().union(*(publisher.served_paths() for publisher in self.publishers.values())):
            httpserver.expect_request(path).respond_with_handler(self.handler)
        self.proxy = FaultProxy((httpserver.host, httpserver.port), self.faults)
        self.base = f"http://127.0.0.1:{self.proxy.port}"

    def url_for(self, path: str) -> str:
        return self.base + path

    def env(self, source: str, root: Path, **overrides: str) -> dict[str, str]:
        publisher = self.publishers[source]
        extra = {name: value.format(base=self.base) for name, value in publisher.env.items()}
        return warehouse_env(root, KPI_SOURCE_MODE="live", **{**extra, **overrides})

    def stop(self) -> None:
        self.proxy.stop()


def live_settings(live: LivePublishers, source: str, root: Path, monkeypatch, **overrides: str) -> Settings:
    """Settings for a live fetch of ``source``; the env also goes to os.environ (sources read file URLs there)."""
    env = live.env(source, root, **overrides)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = load_settings(env)
    return dataclasses.replace(settings, **live.publishers[source].settings_overrides)


def fetch(spec: SourceSpec, settings: Settings) -> list[Landing]:
    """SPEC.fetch through the real transport, as the loading asset does."""
    return acquire_landings(
        spec.name, settings.source_mode, settings.snapshot_dir, settings.landing_dir,
        lambda fetcher: spec.fetch(fetcher, settings),
        base_url=getattr(settings, spec.base_url_setting), licence=spec.licence,
        timeout_seconds=settings.http_timeout_seconds, retries=settings.http_retries,
        backoff_factor=settings.http_backoff_factor,
        request_deadline_seconds=settings.http_request_deadline_seconds,
        fetch_deadline_seconds=settings.source_fetch_deadline_seconds,
    )


_VALIDATED: dict[tuple[str, str], list[ValidationReport]] = {}


def parse_and_validate(spec: SourceSpec, landings: list[Landing], settings: Settings) -> list[ValidationReport]:
    """SPEC.parse then every suite, as the loading asset does. Landings with the same bytes (sha256)
    parse to the same frames, so the reports of bytes already validated are reused."""
    key = (spec.name, "".join(sorted(landing.sha256 for landing in landings)))
    if key not in _VALIDATED:
        frames = spec.parse(landings, settings)
        parameters = spec.expectation_parameters()
        reports = [validate_frame(dataset.name, frames[dataset.name], parameters=parameters) for dataset in spec.datasets]
        reports += [validate_frame(suite, frame, parameters=parameters) for suite, frame in spec.check_frames(frames).items()]
        assert all(len(frames[dataset.name]) for dataset in spec.datasets), {d.name: len(frames[d.name]) for d in spec.datasets}
        _VALIDATED[key] = reports
    return _VALIDATED[key]


# ------------------------------------------------------------------------------------------ processes


def children(pid: int) -> list[int]:
    """Every descendant process of ``pid`` (from /proc)."""
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        try:
            with open(f"/proc/{parent}/task/{parent}/children") as handle:
                kids = [int(k) for k in handle.read().split()]
        except OSError:
            kids = []
        found += kids
        frontier += kids
    return found


def cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def has_open(pid: int, path: Path) -> bool:
    """Whether process ``pid`` holds ``path`` open."""
    target = str(path)
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for fd in fds:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") == target:
                return True
        except OSError:
            continue
    return False


def kill_group(process) -> None:
    """SIGKILL the process and every child it started (it runs in its own session)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=30)
