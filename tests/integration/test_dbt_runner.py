"""dbt run in-process by orchestration.transform.dbt_runner: real dbt builds of a small project on a DuckDB file."""

import textwrap
from pathlib import Path

import dagster as dg
import duckdb
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, dbt_assets

from orchestration.transform import dbt_runner

SCHEMA_YML = """
version: 2
models:
  - name: visa_counts
    columns:
      - name: visas
        data_tests: [not_null]
"""


def write_project(root: Path, visas_sql: str) -> Path:
    project = root / "project"
    (project / "models").mkdir(parents=True)
    (project / "dbt_project.yml").write_text("name: runner_test\nversion: '1.0'\nprofile: runner_test\n")
    (project / "profiles.yml").write_text(textwrap.dedent(f"""
        runner_test:
          target: dev
          outputs:
            dev: {{type: duckdb, path: "{root / 'runner.duckdb'}", threads: 1}}
    """))
    (project / "models" / "visa_counts.sql").write_text(visas_sql)
    (project / "models" / "schema.yml").write_text(SCHEMA_YML)
    return project


def assets_for(project: Path):
    manifest = dbt_runner.parsed_manifest(project)
    manifest_path = project / "target" / "runner_manifest.json"
    manifest.write(str(manifest_path))

    @dbt_assets(manifest=manifest_path,
                dagster_dbt_translator=DagsterDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True)))
    def runner_models(context: dg.AssetExecutionContext):
        yield from dbt_runner.build(context, ["build"], project_dir=project)

    return runner_models


def test_a_build_materializes_models_and_reports_tests_as_checks(tmp_path):
    project = write_project(tmp_path, "select 'HND' as country, 78163 as visas")
    result = dg.materialize([assets_for(project)], instance=dg.DagsterInstance.ephemeral())
    assert result.success
    assert [event.asset_key.path[-1] for event in result.get_asset_materialization_events()] == ["visa_counts"]
    [check] = result.get_asset_check_evaluations()
    assert check.passed and check.check_name == "not_null_visa_counts_visas"
    # the warehouse file is released after the build: another connection can write it
    with duckdb.connect(str(tmp_path / "runner.duckdb")) as conn:
        assert conn.execute("select visas from main.visa_counts").fetchone() == (78163,)


def test_a_failed_test_fails_the_step_naming_it(tmp_path):
    project = write_project(tmp_path, "select 'HND' as country, cast(null as integer) as visas")
    result = dg.materialize([assets_for(project)], instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
    assert not result.success
    [check] = result.get_asset_check_evaluations()
    assert not check.passed
    failure = next(event for event in result.all_events if event.is_step_failure)
    description = failure.step_failure_data.error.message + (failure.step_failure_data.user_failure_data.description or "")
    assert "test.runner_test.not_null_visa_counts_visas" in description and "fail" in description


def test_invocation_args_carry_selection_and_artefact_paths():
    args = dbt_runner.invocation_args(["build", "--vars", '{"min_year": 2010}'], ["--select", "tag:incremental"],
                                      "empty", Path("/p"), Path("/p/target/step"))
    assert args == ["build", "--vars", '{"min_year": 2010}', "--select", "tag:incremental", "--indirect-selection", "empty",
                    "--project-dir", "/p", "--profiles-dir", "/p", "--target-path", "/p/target/step", "--log-path", "/p/target/step"]


def test_a_new_warehouse_path_reuses_the_partial_parse_state(tmp_path, monkeypatch):
    """dbt-duckdb puts the warehouse path in the profile hash, so each new warehouse used to cost a
    full parse; dbt_runner leaves the path out (a private dbt-duckdb method: this fails if an upgrade
    changes it). The database name, from the file name, still counts."""
    import dbt.cli.main

    project = write_project(tmp_path, "select 1 as visas\n")
    (project / "profiles.yml").write_text(textwrap.dedent("""
        runner_test:
          target: dev
          outputs:
            dev: {type: duckdb, path: "{{ env_var('KPI_WAREHOUSE_PATH') }}", threads: 1}
    """))
    events: list[tuple[str, str]] = []
    original = dbt.cli.main.dbtRunner

    class RecordingRunner(original):
        def __init__(self, manifest=None, callbacks=None):
            record = lambda event: events.append((event.info.name, getattr(event.data, "reason", "")))  # noqa: E731
            super().__init__(manifest=manifest, callbacks=[*(callbacks or []), record])

    monkeypatch.setattr(dbt.cli.main, "dbtRunner", RecordingRunner)

    def parse_for(warehouse: Path) -> list[tuple[str, str]]:
        monkeypatch.setenv("KPI_WAREHOUSE_PATH", str(warehouse))
        events.clear()
        monkeypatch.setattr(dbt_runner, "_parsed_manifests", {})  # as a new process would
        dbt_runner.parsed_manifest(project)
        return [event for event in events if "PartialParsing" in event[0] or event[0] == "UnableToPartialParse"]

    parse_for(tmp_path / "first" / "runner.duckdb")
    second = parse_for(tmp_path / "second" / "runner.duckdb")
    assert second and not [event for event in second if event[0] == "UnableToPartialParse"], second
    renamed = parse_for(tmp_path / "third" / "other.duckdb")  # another database name: parsed afresh
    assert [event for event in renamed if event[0] == "UnableToPartialParse"], renamed


def test_processes_starting_together_on_a_fresh_checkout_read_one_whole_manifest(tmp_path):
    """The definitions parse the dbt project when its manifest is missing: processes that start at
    once on a fresh clone (the webserver and the daemon, test workers) must not read each other's
    half-written manifest.json (they did: orjson.JSONDecodeError in every worker of a fresh CI run).
    A race: without the lock this failed one run in two here, never with it."""
    import shutil
    import subprocess
    import sys
    import time

    from tests.conftest import REPO_ROOT

    checkout = tmp_path / "checkout"
    for part in ("orchestration", "dbt_project", "expectations"):
        shutil.copytree(REPO_ROOT / part, checkout / part, ignore=shutil.ignore_patterns("target", "__pycache__", "logs"))
    reader = ("import json; from orchestration.transform.manifest import ensure_manifest, MANIFEST_PATH; "
              f"assert str(MANIFEST_PATH).startswith({str(checkout)!r}); print(len(json.loads(ensure_manifest().read_text())['nodes']))")
    env = {**__import__("os").environ, "PYTHONPATH": str(checkout)}
    processes = []
    for _ in range(6):  # staggered, so that some read while others still write
        processes.append(subprocess.Popen([sys.executable, "-c", reader], cwd=checkout, env=env, text=True,
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE))
        time.sleep(0.4)
    outcomes = [(process.wait(timeout=600), process.stdout.read().strip(), process.stderr.read()[-2000:]) for process in processes]
    assert all(code == 0 for code, _, _ in outcomes), outcomes
    assert len({nodes for _, nodes, _ in outcomes}) == 1 and int(outcomes[0][1]) > 100
