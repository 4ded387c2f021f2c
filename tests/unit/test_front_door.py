"""The front door: `make help` lists every target, the CLI's --help its commands, options and settings."""

from __future__ import annotations

import re
import subprocess

import pytest

from orchestration.cli import main
from tests.conftest import REPO_ROOT


def test_make_help_lists_every_target():
    phony = re.search(r"^\.PHONY:(.*)$", (REPO_ROOT / "Makefile").read_text(), re.M).group(1).split()
    result = subprocess.run(["make", "--no-print-directory", "help"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    listed = {line.split()[0] for line in result.stdout.splitlines() if line.startswith("  ")}
    assert listed == set(phony)
    assert "2-3 minutes" in result.stdout


def _help(capsys, *argv: str) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main([*argv, "--help"])
    assert exit_info.value.code == 0
    return capsys.readouterr().out


def test_cli_help_lists_commands_options_and_settings(capsys):
    text = _help(capsys)
    for command in ("run", "backfill", "daily"):
        assert re.search(rf"^\s+{command}\s+\S", text, re.M), command
    for setting in ("KPI_SOURCE_MODE", "KPI_WAREHOUSE_PATH", "KPI_SERVING_DIR", "KPI_COUNTRIES", "KPI_PUBLISH_POSTGRES",
                    "KPI_LOG_DIR", "DAGSTER_HOME"):
        assert setting in text, setting
    backfill = _help(capsys, "backfill")
    assert "--from FROM" in backfill and "--to TO" in backfill and "first data year" in backfill
    assert "--window-years N" in _help(capsys, "daily")
