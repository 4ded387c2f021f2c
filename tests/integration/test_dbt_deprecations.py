"""The dbt project parses without a single deprecation warning, so a dbt upgrade that turns one
into an error never surprises a deployment: ``dbt parse --show-all-deprecations`` (every instance,
not the first of each kind) on a full parse (a partial parse skips unchanged files and their warnings).

Proved by writing one generic test without ``arguments:`` (the pre-1.10 form): the test fails naming
MissingArgumentsPropertyInGenericTestDeprecation. dbt 1.11 checks custom keys in YAML against its
JSON schema only for some warehouse adapters (not DuckDB or PostgreSQL), so those it cannot report here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from orchestration.core.settings import DBT_PROJECT_DIR


def deprecation_warnings(project_dir: Path, work_dir: Path) -> list[str]:
    """Every deprecation dbt reports when it parses ``project_dir``, from its JSON log lines."""
    dbt = Path(sys.executable).with_name("dbt")
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
           "KPI_WAREHOUSE_PATH": str(work_dir / "kpi.duckdb")}  # parsing opens no warehouse; never the real one
    completed = subprocess.run(
        [str(dbt), "--log-format", "json", "parse", "--show-all-deprecations", "--no-partial-parse",
         "--project-dir", str(project_dir), "--profiles-dir", str(project_dir),
         "--target-path", str(work_dir / "target"), "--log-path", str(work_dir / "logs")],
        capture_output=True, text=True, env=env, check=False)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    found = []
    for line in completed.stdout.splitlines():
        try:
            info = json.loads(line)["info"]
        except (ValueError, KeyError):
            continue
        if "Deprecation" in info["name"] or (info["level"] in ("warn", "error") and "deprecat" in info["msg"].lower()):
            found.append(f"{info['name']}: {info['msg']}")
    return found


def test_the_dbt_project_has_no_deprecation(tmp_path):
    assert deprecation_warnings(DBT_PROJECT_DIR, tmp_path) == []
