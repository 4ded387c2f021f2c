"""Round three's hostile publishers (issue 24): a gzip bomb, an endless body, and a fetch measured in
a child process (its wall time and peak memory, the kernel's high-water mark of its resident set), for the tests and for
bench/hostile.py.

``python -m tests.hostile SOURCE`` is the child: it fetches and parses SOURCE live with the settings
of its environment and prints one JSON line: the landing, or the error (``all``: every source at
once, as a run's fetch phase does, and each one's outcome).
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


def fetch_in_child(source: str, env: dict[str, str], timeout: float = 300, unhcr_page_size: int | None = None) -> Measured:
    """Fetch ``source`` (or ``"all"``: every source at once, as a run's fetch phase) live in a child
    process with ``env`` as its settings; its peak RSS is the kernel's high-water mark (VmHWM), so
    what the fetch held in memory is measured, not estimated. ``unhcr_page_size``: UNHCR's page size
    (small pages let the bundled answer span several)."""
    started = time.monotonic()
    extra = [str(unhcr_page_size)] if unhcr_page_size else []
    child = subprocess.Popen([sys.executable, "-m", "tests.hostile", source, *extra], cwd=PROJECT_ROOT,
                             env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        stdout, stderr = child.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        child.kill()
        child.communicate()
        raise
    seconds = time.monotonic() - started
    # the child reports its own peak (RUSAGE_CHILDREN would give the largest of every child so far)
    lines = [line for line in stdout.decode().splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"the child fetch of {source} printed no result: {stderr.decode()[-3000:]}")
    result = json.loads(lines[-1])
    return Measured(result, seconds, result.pop("peak_rss_mib"))


def _peak_rss_mib() -> float:
    """This process's peak resident memory since it was exec'd: VmHWM of its own address space
    (getrusage's ru_maxrss would carry the parent's peak across fork and exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024  # kB
    raise RuntimeError("no VmHWM in /proc/self/status")


def _child(source: str, unhcr_page_size: int | None = None) -> int:
    import dataclasses

    from orchestration.config import load_settings
    from orchestration.core.errors import KpiWarehouseError
    from orchestration.load.fetch_phase import acquire_source, fetch_all
    from orchestration.sources import discover, unhcr

    if unhcr_page_size:
        unhcr.PAGE_SIZE = unhcr_page_size  # the package assigns it in fetch.py and parse.py too
        unhcr.PAGING = dataclasses.replace(unhcr.PAGING, requested_page_size=unhcr_page_size)
    settings = load_settings()
    started = time.monotonic()
    if source == "all":
        results = fetch_all(discover(), settings, log=lambda message: None)
        result = {"results": {name: dataclasses.asdict(outcome) for name, outcome in results.items()}}
    else:
        spec = next(spec for spec in discover() if spec.name == source)
        try:
            landings = acquire_source(spec, settings)
            spec.parse(landings, settings)  # a paged answer is whole only if its parser says so
            result = {"fetch_id": landings[0].fetch_id, "files": [landed.file for landed in landings[0].files]}
        except KpiWarehouseError as exc:
            result = {"error": str(exc), "retryable": exc.retryable}
    result["fetch_seconds"] = time.monotonic() - started
    result["peak_rss_mib"] = _peak_rss_mib()
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else None))
