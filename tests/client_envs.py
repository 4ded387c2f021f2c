"""Throwaway virtualenvs with BI clients, pinned with hashes in ``tests/clients/<name>.txt``.

The clients a BI user runs (other DuckDB releases, duckdb-engine with several SQLAlchemy versions,
polars, psycopg 3, the DuckDB CLI) are not dependencies of the project: each set is installed into its
own virtualenv, made once per lock file (keyed by its sha256) in the machine's test cache
(``~/.cache/kpi-warehouse-tests/clients/``, conftest ``machine_cache_dir``) and reused by every run and
every clone on the machine (the first xdist worker to need one makes it under a file lock; the others
wait for it). Each lock
is compiled from ``<name>.in`` like requirements.lock:
``.venv/bin/uv pip compile tests/clients/<name>.in --python-version 3.11 --generate-hashes --no-header -o tests/clients/<name>.txt``.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import machine_cache_dir, made_once

CLIENTS_DIR = Path(__file__).resolve().parent / "clients"


def client_python(name: str) -> Path:
    """The python of a virtualenv holding exactly the pinned clients of ``tests/clients/<name>.txt``."""
    lock = CLIENTS_DIR / f"{name}.txt"
    if sys.version_info[:2] != (3, 11):
        pytest.fail(f"{lock} is compiled for Python 3.11, not {sys.version_info[:2]}: recompile it")
    digest = hashlib.sha256(lock.read_bytes()).hexdigest()[:12]
    # the venv's python links to the interpreter that made it: the key names that interpreter too
    interpreter = hashlib.sha256(str(Path(sys.base_prefix).resolve()).encode()).hexdigest()[:8]
    venv = made_once(machine_cache_dir("clients") / f"{name}-{digest}-py311-{interpreter}" / "venv",
                     lambda venv: _install(venv, lock))
    return venv / "bin" / "python"


def _install(venv: Path, lock: Path) -> None:
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True, capture_output=True)
    result = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                             "--require-hashes", "--no-deps", "--only-binary=:all:", "-r", str(lock)],
                            capture_output=True, text=True)
    assert result.returncode == 0, f"installing {lock.name} failed:\n{result.stdout}\n{result.stderr}"
