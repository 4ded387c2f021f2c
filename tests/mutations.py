"""Proofs of the proofs: break the code path a promise of docs/reliability.md rests on, and check that the
promise's test fails.

Each mutation is applied to a copy of the project (its tracked and new files, as a contributor's clone;
this checkout is never touched), the promise's test runs there with pytest, and the mutation is *caught*
when that run fails. A mutation that survives means the test cannot see the break it is named for.

    .venv/bin/python -m tests.mutations             # every mutation (tens of minutes: some need a full build)
    .venv/bin/python -m tests.mutations --cheap     # the cheap ones (a minute), what `make test` runs
    .venv/bin/python -m tests.mutations --only P12-write-in-place

The last full run's result is recorded in docs/reliability.md ("Mutation proofs").
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Mutation:
    name: str
    promise: str
    file: str  # relative to the project
    original: str  # text that must occur exactly once in the file
    mutated: str
    test: str  # pytest node id(s), space-separated, relative to the project
    cheap: bool = False


MUTATIONS = (
    Mutation("P12-write-in-place", "12: half-written landing files are never mistaken for complete ones",
             "orchestration/fetch/archive.py",
             '    tmp = path.with_name(f".{path.name}.partial")\n', "    tmp = path  # mutation: written in place\n",
             "tests/unit/test_landing_kill_mid_file.py", cheap=True),
    Mutation("P32-module-reads-environ", "32: no module but settings reads a setting from the environment",
             "orchestration/fetch/http.py",
             "from __future__ import annotations\n",
             "from __future__ import annotations\nfrom os import environ as _environ\n"
             "_MIRROR = {**_environ}.get('KPI_WORLDBANK_BASE_URL')  # mutation: a setting read outside settings\n",
             "tests/unit/test_settings_in_one_place.py::test_no_module_reads_a_kpi_setting_from_the_environment_but_settings",
             cheap=True),
    Mutation("P32-shell-reads-setting", "32: shell scripts read settings through the settings module",
             "deploy/services.sh",
             'exec "$bin/dagster-webserver" -w deploy/workspace.yaml -h "$ui_host" -p "$ui_port"',
             'exec "$bin/dagster-webserver" -w deploy/workspace.yaml -h "${KPI_DAGSTER_HOST:-127.0.0.1}" -p "$ui_port"',
             "tests/unit/test_settings_in_one_place.py::test_shell_scripts_read_no_setting_but_through_the_settings_module"),
    Mutation("P32-setting-unvalidated", "15/32: every setting validated, the variable named",
             "orchestration/core/settings.py",
             '    if not raw.isdigit() or not 1 <= int(raw) <= 65535:\n        raise SettingsError(f"{name}={raw!r} is not a TCP port (1-65535)")\n    return int(raw)\n',
             "    return int(raw) if raw.isdigit() else default  # mutation: no range check, no error\n",
             "tests/unit/test_settings_in_one_place.py::test_every_setting_refuses_a_bad_value_naming_the_variable"),
    Mutation("P31-drop-the-lock", "31: one writer at a time",
             "orchestration/load/lock.py",
             "    if held is None:\n        _acquire(lock, timeout_seconds, _holder(what, run_id), log)\n",
             "    if held is None:\n        pass  # mutation: the lock is never taken\n",
             "tests/unit/test_warehouse_lock.py"),
    Mutation("P35-switch-first", "35: a publication is one unit, visible only by its switch",
             "orchestration/publish/publication.py",
             "    release_dir.mkdir(parents=True)\n    try:\n",
             "    release_dir.mkdir(parents=True)\n    _switch(serving_dir, release_dir)  # mutation: visible before it is whole\n    try:\n",
             "tests/integration/test_publication_kills.py"),
    Mutation("P35-report-after-switch", "35: the report is built before the switch",
             "orchestration/publish/publication.py",
             "        report = _write_report(release_dir)\n",
             "        report = {'file': REPORT_FILE, 'charts': 0}  # mutation: the report is not built before the switch\n",
             "tests/integration/test_publication_kills.py"),
    Mutation("P28-skip-the-audit", "28: a candidate that loses years is audited and refused",
             "orchestration/publish/publication.py",
             "        findings = audit_candidate(live / SERVING_FILE, release_dir / SERVING_FILE, defined_marts) if live is not None else []\n",
             "        findings = []  # mutation: no audit\n",
             "tests/integration/test_operation_paths.py::test_a_year_a_release_no_longer_has_leaves_the_facts_and_the_audit_asks_first"),
    Mutation("P28-no-agreement-test", "28: a fact that disagrees with kpi_annual never reaches publishing",
             "dbt_project/models/marts/worldbank/_worldbank__marts.yml",
             '      - agrees_with_kpi_annual:\n          arguments: {kpi_id: "homicide_rate", value: "max(homicide_rate_per_100k)"}\n',
             "",  # mutation: fct_homicides is no longer compared with kpi_annual
             "tests/integration/test_disagreeing_fact.py"),
    Mutation("P13-webhook-url-logged", "13: secrets appear in nothing a run leaves",
             "orchestration/platform/alerts.py",
             '            log(f"alert webhook answered HTTP {status}")\n',
             '            log(f"alert webhook {url} answered HTTP {status}")  # mutation: the secret URL logged\n',
             "tests/integration/test_secrets_everywhere.py"),
    # (dropping the steps' lock altogether also breaks every Dagster run of the shared full build, so the
    # test would fail in its fixture, proving nothing about it: this break spares runs nobody else holds)
    Mutation("P31-runs-ignore-a-held-lock", "31: runs the UI and the schedule launch wait for a held writer lock",
             "orchestration/load/lock.py",
             '    if holder is not None and holder.get("run_id") == run_id:\n',
             "    if holder is not None:  # mutation: a run's step goes on whoever holds the lock\n",
             "tests/integration/test_writers_through_the_daemon.py"),
    Mutation("P31-live-opened-read-write", "31: readers of the serving copy never wait for a writer",
             "orchestration/publish/audit.py",
             "AS live (READ_ONLY)", "AS live",  # mutation: the publisher opens the live publication read-write
             "tests/integration/test_readers_never_wait.py"),
    Mutation("P28-flag-ignored", "28: --accept-shrink publishes what the audit refused",
             "orchestration/cli.py",
             'ACCEPT_SHRINK_TAG: "true" if accept_shrink else "false"}',
             'ACCEPT_SHRINK_TAG: "false"}  # mutation: the flag is parsed and ignored',
             "tests/integration/test_accept_shrink.py"),
    Mutation("P44-publication-build-only", "44: a changed project is compared with every build since the publication",
             "orchestration/transform/state.py",
             "    since = [attempt for attempt in attempts if attempt.attempt_seq >= published_attempt]\n",
             "    since = [attempt for attempt in attempts if attempt.attempt_seq == published_attempt]  # mutation\n",
             "tests/integration/test_project_changes.py"),
    Mutation("P44-changed-fact-keeps-its-years", "44: an incremental fact the project changed rebuilds every year",
             "orchestration/transform/plan.py",
             "    years = incremental_range(pending, run_range, all_years, every_year)\n",
             "    years = incremental_range(pending, run_range, all_years, False)  # mutation\n",
             "tests/integration/test_project_changes.py"),
    Mutation("P9-unnamed-failure", "9: a failed suite names the dataset and the expectation",
             "orchestration/check/validation.py",
             '        return (f"{self.dataset}: {len(self.failures)} of ',
             '        return (f"{len(self.failures)} of ',  # mutation: the dataset's name left out
             "tests/unit/test_validation.py", cheap=False),
)


def project_copy(target: Path) -> Path:
    """The project's tracked and new files (no data/, no .venv, no dbt target), as a contributor's clone."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=PROJECT_ROOT,
                            capture_output=True, text=True)
    if listed.returncode == 0:
        relatives = listed.stdout.split("\n")
    else:  # a copy made by this script (tests that copy the project run inside one): every file but generated ones
        skipped = {".venv", "data", "__pycache__", ".pytest_cache"}
        relatives = [str(path.relative_to(PROJECT_ROOT)) for path in PROJECT_ROOT.rglob("*")
                     if path.is_file() and not skipped & set(path.relative_to(PROJECT_ROOT).parts)]
    for relative in filter(None, relatives):
        source = PROJECT_ROOT / relative
        if source.is_file() and not relative.startswith(("data/", "dbt_project/target/")):
            (target / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / relative)
    return target


def apply(mutation: Mutation, project: Path) -> None:
    path = project / mutation.file
    text = path.read_text()
    count = text.count(mutation.original)
    if count != 1:
        raise RuntimeError(f"{mutation.name}: the text to mutate occurs {count} times in {mutation.file} "
                           "(the code moved: update the mutation)")
    path.write_text(text.replace(mutation.original, mutation.mutated))


@dataclass
class Outcome:
    mutation: Mutation
    caught: bool
    seconds: float
    detail: str


def run_one(mutation: Mutation, work: Path) -> Outcome:
    project = project_copy(work / mutation.name)
    apply(mutation, project)
    # the copy imports its own code: nothing of this checkout's orchestration/ on the path
    env = {name: value for name, value in os.environ.items() if not name.startswith(("KPI_", "DAGSTER_", "PYTHONPATH", "PYTEST_"))}
    env.update({"DAGSTER_HOME": str(work / f"{mutation.name}-dagster_home"), "PYTHONPATH": str(project),
                "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"})
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "-n", "0",
                             *mutation.test.split()], cwd=project, env=env, capture_output=True, text=True, timeout=3600)
    seconds = time.monotonic() - started
    lines = [line for line in result.stdout.splitlines() if line.startswith(("FAILED", "ERROR"))]
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else result.stderr[-500:]
    # caught: the test ran and failed (exit 1); an error collecting it (exit 2+) proves nothing
    caught = result.returncode == 1 and bool(lines)
    # why it failed: the first assertion line pytest printed, so a reader can tell the break was seen
    why = next((line.strip() for line in result.stdout.splitlines() if line.startswith("E ")), "")
    return Outcome(mutation, caught, seconds, ((lines[0] if lines else summary) + (f" ({why[:200]})" if why else ""))[:500])


def selected(cheap: bool, only: list[str]) -> list[Mutation]:
    mutations = list(MUTATIONS)
    if only:
        mutations = [m for m in mutations if m.name in only]
    elif cheap:
        mutations = [m for m in mutations if m.cheap]
    return mutations


def run(cheap: bool = False, only: list[str] = ()) -> list[Outcome]:
    with tempfile.TemporaryDirectory(prefix="kpi-mutations-") as tmp:
        outcomes = []
        for mutation in selected(cheap, list(only)):
            print(f"{mutation.name}: {mutation.test} ...", flush=True)
            outcome = run_one(mutation, Path(tmp))
            print(f"  {'caught' if outcome.caught else 'SURVIVED'} in {outcome.seconds:.0f} s: {outcome.detail}", flush=True)
            outcomes.append(outcome)
        return outcomes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cheap", action="store_true", help="only the cheap mutations (what make test runs)")
    parser.add_argument("--only", nargs="+", default=[], metavar="NAME", help="only these mutations")
    args = parser.parse_args(argv)
    outcomes = run(args.cheap, args.only)
    print("\n| mutation | promise | test | caught |\n|---|---|---|---|")
    for outcome in outcomes:
        m = outcome.mutation
        print(f"| `{m.name}` | {m.promise} | `{m.test}` | {'yes' if outcome.caught else '**no**'} ({outcome.seconds:.0f} s) |")
    return 0 if all(outcome.caught for outcome in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
