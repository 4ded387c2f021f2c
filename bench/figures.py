"""docs/figures.md: the one table of measured figures the other pages link to.

Each benchmark writes its own section (``make bench`` the pipeline's, ``python -m bench.engines`` the
engines'), replacing the one it wrote last time, with the date, the machine, its load when the run
started, the code's revision and the command. A page that quotes a time links here instead of copying
the number, so two pages cannot disagree; two sections measured on different days say so.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import re
import subprocess
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
FIGURES_PAGE = PROJECT_ROOT / "docs" / "figures.md"

HEADER = """# Measured figures

Written by the benchmarks, never by hand: `make bench` writes the pipeline's section,
`.venv/bin/python -m bench.engines` the engines'. Each section says when, on which machine (and how
busy it was when the run started: other processes on a shared machine slow every figure) and at
which revision it was measured. Other pages link here rather than copy a number.
What the figures measure and what keeps them short: [speed.md](speed.md); what moving to
PostgreSQL costs: [deployment.md](deployment.md#what-moving-costs-measured).
"""


def machine() -> str:
    """Cores, memory and the load average when the run started: what a reader needs to compare two runs."""
    memory = ""
    meminfo = Path("/proc/meminfo")
    if meminfo.is_file():
        match = re.search(r"MemTotal:\s+(\d+) kB", meminfo.read_text())
        if match:
            memory = f", {int(match.group(1)) / 1024 ** 2:.0f} GiB"
    load = ", load average {:.1f}".format(os.getloadavg()[0]) if hasattr(os, "getloadavg") else ""
    return f"{platform.node() or 'this machine'} ({os.cpu_count()} cores{memory}{load}; {platform.system()} {platform.machine()})"


def revision() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=PROJECT_ROOT, capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def markdown_table(rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    lines += ["| " + " | ".join(row) + " |" for row in rows[1:]]
    return "\n".join(lines)


def section_text(name: str, title: str, command: str, table: str, machine_text: str, started: dt.datetime,
                 commit: str, notes: str = "") -> str:
    return (f"<!-- figures:{name} (written by {command}; do not edit) -->\n"
            f"## {title}\n\n"
            f"Measured {started:%Y-%m-%d %H:%M} UTC on {machine_text}, revision `{commit}`, by `{command}`.\n\n"
            f"{table}\n" + (f"\n{notes.strip()}\n" if notes.strip() else "") +
            f"<!-- /figures:{name} -->\n")


def write_section(name: str, title: str, command: str, rows: list[list[str]], started: dt.datetime,
                  machine_text: str, notes: str = "", page: Path = FIGURES_PAGE) -> Path:
    """Put section ``name`` of ``page`` in place (replacing its previous text; the other sections are kept)."""
    section = section_text(name, title, command, markdown_table(rows), machine_text, started, revision(), notes)
    text = page.read_text() if page.is_file() else HEADER
    pattern = re.compile(rf"<!-- figures:{re.escape(name)} .*?<!-- /figures:{re.escape(name)} -->\n", re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: section, text)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    page.write_text(text)
    return page
