"""Round three's hostile publishers (issue 24): a gzip bomb, an endless body, and a fetch measured in
a child process (its wall time and peak memory, from the kernel's rusage), for the tests and for
bench/hostile.py.

``python -m tests.hostile SOURCE`` is the child: it fetches SOURCE live with the settings of its
environment (as a run's fetch phase does) and prints one JSON line: the landing, or the error.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

from werkzeug import Request, Response

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MIB = 1024 * 1024


def gzip_bomb(expanded_bytes: int, prefix: bytes = b"") -> bytes:
    """A gzip body of ``prefix`` then zeros, ``expanded_bytes`` long once decompressed (about 1/1000
    of that on the wire), made a MiB at a time."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    parts = [compressor.compress(prefix)]
    zeros = bytes(MIB)
    remaining = expanded_bytes - len(prefix)
    while remaining > 0:
        piece = zeros[:min(MIB, remaining)]
        parts.append(compressor.compress(piece))
        remaining -= len(piece)
    parts.append(compressor.flush())
    return b"".join(parts)


class EndlessBody:
    """A werkzeug handler answering 200 with a body that does not end (no Content-Length: chunked),
    ``chunk`` after ``chunk``, up to ``stop_after`` bytes so that even a client that never stops
    reading ends one day; ``sent`` counts what went out."""

    def __init__(self, head: bytes = b"PK\x03\x04", chunk_bytes: int = 256 * 1024, stop_after: int = 8 * 1024 * MIB,
                 content_type: str = "application/octet-stream"):
        self.head = head
        self.chunk = bytes(chunk_bytes)
        self.stop_after = stop_after
        self.content_type = content_type
        self.sent = 0

    def __call__(self, request: Request) -> Response:
        def body():
            yield self.head
            while self.sent < self.stop_after:
                self.sent += len(self.chunk)
                yield self.chunk

        return Response(body(), content_type=self.content_type, direct_passthrough=True)


@dataclass(frozen=True)
class Measured:
    """A child fetch: what it printed, how long it took, and its peak resident memory."""

    result: dict
    seconds: float
    peak_rss_mib: float


def fetch_in_child(source: str, env: dict[str, str], timeout: float = 300) -> Measured:
    """Fetch ``source`` live in a child process with ``env`` as its settings; its peak RSS is the
    kernel's (``wait4``), so what the fetch held in memory is measured, not estimated."""
    started = time.monotonic()
    child = subprocess.Popen([sys.executable, "-m", "tests.hostile", source], cwd=PROJECT_ROOT,
                             env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        stdout, stderr = child.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        child.kill()
        child.communicate()
        raise
    seconds = time.monotonic() - started
    # communicate() reaped the child: its rusage is in RUSAGE_CHILDREN's maximum, which is the
    # largest of all children so far; wait4 is not available after the reap, so read the child's
    # own report instead (it prints its ru_maxrss last)
    lines = [line for line in stdout.decode().splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"the child fetch of {source} printed no result: {stderr.decode()[-3000:]}")
    result = json.loads(lines[-1])
    return Measured(result, seconds, result.pop("peak_rss_mib"))


def _child(source: str) -> int:
    import resource

    from orchestration.config import load_settings
    from orchestration.core.errors import KpiWarehouseError
    from orchestration.fetch.phase import acquire_source
    from orchestration.sources import discover

    spec = next(spec for spec in discover() if spec.name == source)
    settings = load_settings()
    started = time.monotonic()
    try:
        [landing] = acquire_source(spec, settings)
        result = {"fetch_id": landing.fetch_id, "files": [landed.file for landed in landing.files]}
    except KpiWarehouseError as exc:
        result = {"error": str(exc), "retryable": exc.retryable}
    result["fetch_seconds"] = time.monotonic() - started
    result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1]))
