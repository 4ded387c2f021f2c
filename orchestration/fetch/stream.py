"""A response body streamed to a file, decompressed by us in bounded pieces, under the source's limits.

requests would hand us the whole body (or let urllib3 expand a compressed chunk as far as it goes);
here the wire bytes are read in small chunks without decoding, each chunk is expanded at most
``DECODE_PIECE_BYTES`` at a time, and every limit is checked before a byte is written, so neither
memory nor disk ever holds more than a limit (plus one piece) whatever the publisher sends: an
endless body without Content-Length, or 10 MB of gzip that expands to gigabytes.
"""

from __future__ import annotations

import hashlib
import os
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

READ_CHUNK_BYTES = 64 * 1024
DECODE_PIECE_BYTES = 1024 * 1024
HEAD_BYTES = 64 * 1024
TAIL_BYTES = 64 * 1024
# what we tell servers we can decode (requests would also offer br/zstd when their packages are installed)
ACCEPT_ENCODING = "gzip, deflate"


class UnsupportedEncoding(Exception):
    pass


class OverLimit(Exception):
    """A limit was passed while streaming; ``what`` says which, in words a user reads."""

    def __init__(self, what: str):
        super().__init__(what)
        self.what = what


class CorruptEncoding(Exception):
    pass


@dataclass(frozen=True)
class StreamedBody:
    path: Path
    size: int  # bytes after decompression (what the file holds)
    received: int  # bytes read from the wire
    sha256: str
    head: bytes  # the first HEAD_BYTES, for the kind checks
    tail: bytes  # the last TAIL_BYTES


class _Decoder:
    """One Content-Encoding (identity, gzip, deflate) decoded in bounded pieces; concatenated gzip
    members are decoded one after the other, as urllib3 does."""

    def __init__(self, encoding: str):
        encoding = (encoding or "identity").strip().lower()
        if encoding in ("", "identity"):
            self._kind = None
        elif encoding in ("gzip", "x-gzip"):
            self._kind = "gzip"
        elif encoding == "deflate":
            self._kind = "deflate"
        else:
            raise UnsupportedEncoding(encoding)
        self._first_deflate = True
        self._obj = self._new()

    def _new(self):
        if self._kind == "gzip":
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        if self._kind == "deflate":
            return zlib.decompressobj(zlib.MAX_WBITS)
        return None

    def pieces(self, data: bytes):
        if self._obj is None:
            yield data
            return
        while data:
            try:
                piece = self._obj.decompress(data, DECODE_PIECE_BYTES)
            except zlib.error as exc:
                if self._kind == "deflate" and self._first_deflate:
                    # some servers send raw deflate without the zlib header
                    self._first_deflate = False
                    self._obj = zlib.decompressobj(-zlib.MAX_WBITS)
                    continue
                raise CorruptEncoding(f"{self._kind} body cannot be decoded: {exc}") from None
            self._first_deflate = False
            if piece:
                yield piece
            if self._obj.unconsumed_tail:
                data = self._obj.unconsumed_tail
            elif self._obj.eof and self._obj.unused_data and self._kind == "gzip":
                data = self._obj.unused_data  # the next gzip member
                self._obj = self._new()
            else:
                data = b""

    def finish(self) -> bytes:
        if self._obj is None:
            return b""
        rest = self._obj.flush(DECODE_PIECE_BYTES) if hasattr(self._obj, "flush") else b""
        if self._kind == "gzip" and not self._obj.eof:
            raise CorruptEncoding("gzip body ends before its end marker (truncated?)")
        return rest


def stream_to_file(read: Callable[[int], bytes], encoding: str, path: Path, *, max_received: int, max_size: int,
                   may_write: Callable[[int], str | None]) -> StreamedBody:
    """Read the wire bytes with ``read(n)`` until it returns ``b""``, decode them, and write them to
    ``path``. ``may_write(n)`` is asked before each piece is written and returns why it may not (a
    landing or archive budget), or None. Raises OverLimit, UnsupportedEncoding or CorruptEncoding."""
    decoder = _Decoder(encoding)
    digest = hashlib.sha256()
    received = size = 0
    head = bytearray()
    tail = b""
    with open(path, "wb") as out:

        def write(piece: bytes) -> None:
            nonlocal size, tail
            if size + len(piece) > max_size:
                raise OverLimit(f"more than {max_size:,} bytes after decompression")
            refusal = may_write(len(piece))
            if refusal:
                raise OverLimit(refusal)
            out.write(piece)
            digest.update(piece)
            size += len(piece)
            if len(head) < HEAD_BYTES:
                head.extend(piece[:HEAD_BYTES - len(head)])
            tail = (tail + piece)[-TAIL_BYTES:]

        while True:
            chunk = read(READ_CHUNK_BYTES)
            if not chunk:
                break
            received += len(chunk)
            if received > max_received:
                raise OverLimit(f"more than {max_received:,} bytes received")
            for piece in decoder.pieces(chunk):
                write(piece)
        rest = decoder.finish()
        if rest:
            write(rest)
        out.flush()
        os.fsync(out.fileno())
    return StreamedBody(path, size, received, digest.hexdigest(), bytes(head), tail)


def keep_sample(path: Path, sample_bytes: int, sample_path: Path) -> Path | None:
    """Cut a refused body's file down to its first ``sample_bytes`` and keep it as ``sample_path``
    (None when nothing was written)."""
    if not path.exists():
        return None
    with open(path, "r+b") as handle:
        handle.truncate(sample_bytes)
    os.replace(path, sample_path)
    return sample_path
