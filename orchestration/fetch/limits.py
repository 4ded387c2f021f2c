"""How much of a publisher's answer a fetch accepts: bytes on the wire, bytes after decompression,
bytes of one landing, and bytes of the whole landing archive (the disk budget).

A publisher decides what it sends, not how much memory or disk a run spends: every source declares
its ``FetchLimits`` in its SPEC (sized from its real files, with headroom), settings can only raise
them (``effective_limits``), and the streaming body reader (orchestration/fetch/stream.py) checks them
while the bytes arrive, so an endless body or a gzip bomb stops at the limit instead of at the
machine's memory or disk.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

MIB = 1024 * 1024

# the settings that raise every source's declared limits (never lower them), and the disk budget
MAX_RESPONSE_SETTING = "KPI_FETCH_MAX_RESPONSE_MB"
MAX_BODY_SETTING = "KPI_FETCH_MAX_BODY_MB"
MAX_LANDING_SETTING = "KPI_FETCH_MAX_LANDING_MB"
ARCHIVE_BUDGET_SETTING = "KPI_LANDING_ARCHIVE_MAX_MB"

# what stays of a body refused for its size: enough to see what the publisher sent
SAMPLE_BYTES = 64 * 1024


@dataclass(frozen=True)
class FetchLimits:
    """What one source accepts from its publisher.

    ``max_response_bytes``: one response as received on the wire (compressed or not);
    ``max_body_bytes``: one response after decompression (what the archive keeps and the parser reads);
    ``max_landing_bytes``: every file of one fetch of the source together."""

    max_response_bytes: int
    max_body_bytes: int
    max_landing_bytes: int

    def __post_init__(self):
        for name in ("max_response_bytes", "max_body_bytes", "max_landing_bytes"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"FetchLimits.{name} must be a positive whole number of bytes, not {value!r}")
        if self.max_landing_bytes < self.max_body_bytes:
            raise ValueError("FetchLimits: max_landing_bytes must hold at least one whole body (max_body_bytes)")

    @classmethod
    def mib(cls, response: float, body: float | None = None, landing: float | None = None) -> "FetchLimits":
        """Limits in MiB: ``body`` defaults to ``response``, ``landing`` to ``body``."""
        body = response if body is None else body
        landing = body if landing is None else landing
        return cls(int(response * MIB), int(body * MIB), int(landing * MIB))


def effective_limits(declared: FetchLimits, max_response_mb: float | None = None, max_body_mb: float | None = None,
                     max_landing_mb: float | None = None) -> FetchLimits:
    """The declared limits, raised (never lowered) by the settings that are set."""

    def raised(value: int, setting_mb: float | None) -> int:
        return value if setting_mb is None else max(value, int(setting_mb * MIB))

    body = raised(declared.max_body_bytes, max_body_mb)
    return FetchLimits(raised(declared.max_response_bytes, max_response_mb), body,
                       max(body, raised(declared.max_landing_bytes, max_landing_mb)))


def describe_bytes(count: int) -> str:
    return f"{count / MIB:,.1f} MiB" if count >= MIB else f"{count:,} bytes"


def directory_bytes(root: Path) -> int:
    """Bytes of every file under ``root`` (0 when it does not exist)."""
    total = 0
    for directory, _, files in os.walk(root):
        for name in files:
            try:
                total += os.lstat(os.path.join(directory, name)).st_size
            except OSError:
                continue  # removed while we walked (a pruned re-fetch)
    return total


class ArchiveBudget:
    """The landing archive's disk budget, shared by every fetch of a run (they run concurrently).

    Starts from the archive's size on disk; each fetch charges the bytes it writes as they arrive and
    gets back what it deletes (a refused body's partial file)."""

    def __init__(self, root: Path, max_bytes: int | None):
        self.root = root
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self.used = directory_bytes(root) if max_bytes is not None else 0

    def charge(self, count: int) -> bool:
        """Take ``count`` bytes of the budget; False (nothing taken) when they do not fit."""
        with self._lock:
            if self.max_bytes is not None and self.used + count > self.max_bytes:
                return False
            self.used += count
            return True

    def refund(self, count: int) -> None:
        with self._lock:
            self.used = max(0, self.used - count)
