"""The dbt manifest the Dagster definitions are built from, re-parsed only when the project changed."""

from __future__ import annotations

import os
from pathlib import Path

from orchestration.settings import DBT_PROJECT_DIR

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
    """Run ``dbt parse`` (in-process) when the manifest is missing or older than any file of the dbt project."""
    if manifest_is_stale():
        from dbt.cli.main import dbtRunner

        os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
        result = dbtRunner().invoke(["parse", "--quiet", "--project-dir", str(DBT_PROJECT_DIR),
                                     "--profiles-dir", str(DBT_PROJECT_DIR)])
        if not result.success:
            raise RuntimeError(f"dbt parse of {DBT_PROJECT_DIR} failed: {result.exception}")
    return MANIFEST_PATH
