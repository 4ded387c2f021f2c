"""The dbt manifest the Dagster definitions are built from, re-parsed only when the project changed."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from orchestration.core.settings import DBT_PROJECT_DIR

MANIFEST_PATH = DBT_PROJECT_DIR / "target" / "manifest.json"
_PROJECT_PARTS = ("dbt_project.yml", "profiles.yml", "models", "seeds", "macros", "tests", "snapshots")


def newest_project_mtime(project_dir: Path = DBT_PROJECT_DIR) -> float:
    newest = 0.0
    for part in _PROJECT_PARTS:
        path = project_dir / part
        if path.is_file():
            newest = max(newest, path.stat().st_mtime)
        elif path.is_dir():
            for child in path.rglob("*"):
                if child.is_file():
                    newest = max(newest, child.stat().st_mtime)
    return newest


def manifest_is_stale(manifest: Path = MANIFEST_PATH) -> bool:
    return not manifest.is_file() or manifest.stat().st_mtime < newest_project_mtime()


def ensure_manifest() -> Path:
    """Run ``dbt parse`` (in-process) when the manifest is missing or older than any file of the dbt project.

    Processes that start together on a fresh checkout (the webserver and the daemon, two runs, the
    test workers) would parse at once and read each other's half-written manifest: the first one
    parses under a file lock, the others wait for it and find the manifest fresh."""
    MANIFEST_PATH.parent.mkdir(parents=True, exist_ok=True)
    with open(MANIFEST_PATH.parent / ".manifest.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if manifest_is_stale():
            from dbt.cli.main import dbtRunner

            os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
            result = dbtRunner().invoke(["parse", "--quiet", "--project-dir", str(DBT_PROJECT_DIR),
                                         "--profiles-dir", str(DBT_PROJECT_DIR)])
            if not result.success:
                raise RuntimeError(f"dbt parse of {DBT_PROJECT_DIR} failed: {result.exception}")
    return MANIFEST_PATH


# what the marts are computed by: a change to any of these may change every year of a fact
_TRANSFORM_PARTS = ("dbt_project.yml", "models", "seeds", "macros")


def project_fingerprint(project_dir: Path = DBT_PROJECT_DIR) -> str:
    """sha256 over the dbt project's models, seeds, macros and settings (paths and bytes), and what
    the marts take from the sources' contracts. A publication records it; when it changed, the next
    build rebuilds every year of the facts."""
    import hashlib

    from orchestration.sources import discover
    from orchestration.transform.contracts import contracts_fingerprint

    digest = hashlib.sha256(contracts_fingerprint(discover()).encode())
    for part in _TRANSFORM_PARTS:
        path = project_dir / part
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else []
        for file in files:
            digest.update(f"{file.relative_to(project_dir).as_posix()}\0".encode())
            digest.update(hashlib.sha256(file.read_bytes()).digest())
    return digest.hexdigest()
