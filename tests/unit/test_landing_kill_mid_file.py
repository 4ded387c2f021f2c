"""Promise 12, as stated: a half-written landing file is never mistaken for a complete one, seen from
another process while the writer writes, and after the writer is killed mid-file.

The writer is a real process archiving large bodies through ``LandingWriter.add``; this process watches
the landing directory as any reader would (``list_landings``, the files' own names) and SIGKILLs the writer
as soon as it sees a file being written. Written in place (no ``.partial`` name) the watcher would see
the final name with part of the bytes: the mutation script (tests/mutations.py) proves this test catches it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from orchestration.fetch.archive import MANIFEST_NAME, list_landings

BODY_MB = 48
FILES = 40  # the writer keeps archiving until the watcher has caught one mid-write and killed it

WRITER = f"""
import sys
from pathlib import Path
from orchestration.fetch.archive import LandingWriter

writer = LandingWriter(Path(sys.argv[1]), "cbp", fetch_id="20260101T000000Z-killed")
print(writer.path, flush=True)
body = bytes(range(256)) * (4096 * {BODY_MB})
for number in range({FILES}):
    writer.add(f"part-{{number:03d}}.csv", body, url=f"http://example/{{number}}")
writer.finish()
"""


def test_a_file_killed_mid_write_is_never_seen_under_its_own_name(tmp_path):
    full_size = 256 * 4096 * BODY_MB
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path)], stdout=subprocess.PIPE, text=True,
                              start_new_session=True)
    try:
        landing = tmp_path / "cbp" / "20260101T000000Z-killed"
        assert writer.stdout.readline().strip() == str(landing.resolve())
        caught_mid_write, deadline = None, time.monotonic() + 120
        while caught_mid_write is None and time.monotonic() < deadline and writer.poll() is None:
            for path in list(landing.iterdir()):
                try:
                    size = path.stat().st_size
                except FileNotFoundError:  # renamed between listing and stat
                    continue
                # what a reader would take for a landed file: its own name; it must always be whole
                if not path.name.startswith("."):
                    assert path.name == MANIFEST_NAME or size == full_size, f"{path.name} seen with {size} of {full_size} bytes"
                elif 0 < size < full_size:
                    caught_mid_write = (path.name, size)
            assert list_landings(tmp_path, "cbp") == []  # never listed before its manifest
        assert caught_mid_write, "the writer finished before a write in progress was seen: make BODY_MB larger"
        os.killpg(writer.pid, signal.SIGKILL)
        writer.wait(timeout=30)
    finally:
        if writer.poll() is None:
            os.killpg(writer.pid, signal.SIGKILL)
            writer.wait(timeout=30)
    # after the kill: the cut file is only under its .partial name, every file under its own name is whole,
    # and the landing is not listed for loading
    named = [path for path in landing.iterdir() if not path.name.startswith(".")]
    assert all(path.stat().st_size == full_size for path in named), [(path.name, path.stat().st_size) for path in named]
    partial_name = caught_mid_write[0]
    final_name = partial_name.removeprefix(".").removesuffix(".partial")
    # the write caught in progress was cut by the kill (only its .partial is left) or finished just before it
    # (renamed whole): never both, never the final name with part of the bytes
    assert (landing / partial_name).exists() != (landing / final_name).exists()
    assert not (landing / MANIFEST_NAME).exists()
    assert list_landings(tmp_path, "cbp") == []
