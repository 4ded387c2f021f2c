"""Adding a source is one path: ``scripts/new_source.py`` scaffolds a toy source (ILOSTAT employment,
a real-format extract) on a copy of the project, and a full build takes it to ``kpi_annual``,
``kpi_revisions`` and the report, with nothing edited outside its own files but its KPI seed row."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from orchestration.core.settings import PROJECT_ROOT

pytestmark = pytest.mark.integration

FIXTURE = PROJECT_ROOT / "tests" / "fixtures" / "ilostat" / "EMP_TEMP_SEX_AGE_NB_A_extract_HN_GT.csv"
NAME = "ilostat_employment"
KPI = "employment_ilostat"


def project_copy(target: Path) -> Path:
    """The project's tracked and new files (no data/, no .venv, no dbt target), as a contributor's clone."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=PROJECT_ROOT, check=True,
                            capture_output=True, text=True).stdout.split("\n")
    for relative in filter(None, listed):
        source = PROJECT_ROOT / relative
        if source.is_file() and not relative.startswith(("data/", "dbt_project/target/")):
            (target / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / relative)
    return target


def snapshot_of(root: Path) -> dict[str, bytes]:
    return {str(path.relative_to(root)): path.read_bytes() for path in sorted(root.rglob("*"))
            if path.is_file() and "__pycache__" not in path.parts}


def run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, f"{args} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return result


def test_a_scaffolded_source_builds_through_to_kpi_annual_and_the_report(tmp_path):
    project = project_copy(tmp_path / "project")
    before = snapshot_of(project)
    # the copy imports its own code: nothing of this checkout's orchestration/ on the path
    env = {name: value for name, value in os.environ.items() if not name.startswith(("KPI_", "DAGSTER_", "PYTHONPATH"))}
    env.update({"DAGSTER_HOME": str(tmp_path / "dagster_home"), "PYTHONPATH": str(project), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"})
    run([sys.executable, "scripts/new_source.py", NAME, "--title", "ILOSTAT employment by sex and age (annual)",
         "--publisher", "ILO, ILOSTAT", "--licence", "CC BY 4.0",
         "--url", "https://rplumber.ilo.org/data/indicator/?id=EMP_TEMP_SEX_AGE_NB_A&type=label&format=.csv",
         "--sample", str(FIXTURE), "--release-date", "2026-03-25",
         "--country-column", "ref_area.label", "--country-is-name", "--year-column", "time", "--value-column", "obs_value",
         "--filter", "sex.label=Total", "--filter", "classif1.label=Age (Youth, adults): 15+",
         "--kpi-id", KPI, "--kpi-name", "Employed persons (ILOSTAT survey, thousands)", "--unit", "thousands of persons",
         "--programme", "Job Creation Programs", "--strategy-area", "Job creation", "--better-direction", "higher"],
        project, env)

    after = snapshot_of(project)
    changed = sorted(path for path in before if after.get(path) != before[path])
    added = sorted(set(after) - set(before))
    assert changed == ["dbt_project/seeds/dim_kpi_definitions.csv"], changed  # the KPI's seed row, nothing else
    assert all(NAME in path for path in added), [path for path in added if NAME not in path]

    # the scaffolded unit test passes, and so do the guards every discovered source meets: its
    # plausibility declaration, and the fault matrix against its scaffolded stand-in publisher
    faults = run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0", f"tests/unit/test_{NAME}.py",
                  "tests/unit/test_plausibility.py::test_every_discovered_source_declares_a_revision_rule_or_a_reason_for_each_dataset",
                  "tests/integration/test_faults.py", "-k", f"{NAME} or test_{NAME} or declares_a_revision_rule", "-rA"],
                 project, env)
    assert f"test_persistent_fault_fails_naming_source_and_url[{NAME}-503-persistent]" in faults.stdout, faults.stdout[-3000:]
    run([sys.executable, "-m", "orchestration.cli", "run"], project, env)

    with open(FIXTURE, newline="", encoding="utf-8") as handle:
        published = {(row["ref_area.label"], int(row["time"])): float(row["obs_value"]) for row in csv.DictReader(handle)
                     if row["sex.label"] == "Total" and row["classif1.label"] == "Age (Youth, adults): 15+"}
    serving = project / "data" / "serving"
    with duckdb.connect(str(serving / "kpi.duckdb"), read_only=True) as conn:
        values = conn.execute("select country_name, year, value, source_id from marts.kpi_annual where kpi_id = ? "
                              "order by 1, 2", [KPI]).fetchall()
        revisions = conn.execute("select count(*) from marts.kpi_revisions where series_id = ?", [KPI]).fetchone()[0]
        dim = conn.execute("select publisher, licence from marts.dim_kpi where kpi_id = ?", [KPI]).fetchone()
    assert {(country, year): value for country, year, value, _ in values} == published  # every cell as published
    assert {source for *_, source in values} == {NAME}
    assert revisions == len(published)
    assert dim == ("ILO, ILOSTAT", "CC BY 4.0")
    assert "Employed persons (ILOSTAT survey, thousands)" in (serving / "kpi_report.html").read_text()
