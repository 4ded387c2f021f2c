"""Security promises: secrets only from the environment and never written anywhere; the Dagster UI on
127.0.0.1; no settings or publisher values spliced into SQL; sources fetch only from their hosts."""

from __future__ import annotations

import ast
import json
import re
import secrets
import subprocess

import dagster as dg
import pytest

from orchestration.core.errors import SourceFetchError
from orchestration.sources import cbp, state_dept
from orchestration.fetch.archive import LandingWriter, list_landings, read_landing
from orchestration.core.errors import SourceFormatError
from tests.conftest import REPO_ROOT
from tests.faults import LivePublishers, fetch, live_settings

pytestmark = pytest.mark.integration

# made up at run time, so that no file (this one included) holds them
PG_PASSWORD = f"pg-Secr3t-{secrets.token_hex(6)}"
WEBHOOK_URL = f"https://hooks.slack.example/services/T0000/B0000/tok3n-{secrets.token_hex(8)}"
SECRETS = {"KPI_PG_PASSWORD": PG_PASSWORD, "KPI_ALERT_WEBHOOK_URL": WEBHOOK_URL}


def _texts_under(root):
    for path in root.rglob("*"):
        if path.is_file():
            yield path, path.read_bytes().decode("utf-8", errors="replace")


def test_secrets_never_reach_landings_logs_or_run_metadata(httpserver, tmp_path, monkeypatch):
    """A live fetch and a job run (the World Bank load, live, with the run's full log file) with a
    database password and a webhook token in the environment: neither string is written anywhere."""
    live = LivePublishers(httpserver)
    try:
        for name, value in SECRETS.items():
            monkeypatch.setenv(name, value)
        settings = live_settings(live, "worldbank", tmp_path, monkeypatch)
        fetch(live.publishers["worldbank"].spec, settings)  # a live fetch on its own...

        from orchestration.cli import partition_range_tags  # ...and through the job, as the CLI runs it
        from orchestration.definitions import build_definitions
        from orchestration.platform.partitions import YEARLY

        keys = YEARLY.get_partition_keys()
        log_file = tmp_path / "logs" / "run.log"
        log_file.parent.mkdir()
        (tmp_path / "dagster_home").mkdir()
        instance = dg.DagsterInstance.local_temp(str(tmp_path / "dagster_home"))
        # the code location's resources, built now from the environment the test set, as a code server's are
        result = build_definitions().resolve_job_def("kpi_full_build").execute_in_process(
            instance=instance, raise_on_error=False,
            asset_selection=[dg.AssetKey(["raw", "worldbank_indicator_values"])],
            run_config={"loggers": {"concise": {"config": {"log_file": str(log_file)}}}},
            tags=partition_range_tags(int(keys[0]), int(keys[-1]), True),
        )
        assert result.success
    finally:
        live.stop()

    landings = list_landings(settings.landing_dir, "worldbank")
    assert len(landings) == 2 and log_file.stat().st_size > 0
    written = dict(_texts_under(tmp_path / "landing")) | {log_file: log_file.read_text()}
    records = instance.get_records_for_run(result.run_id).records
    assert records
    written["event log"] = "\n".join(dg.serialize_value(record.event_log_entry) for record in records)
    run = instance.get_run_by_id(result.run_id)
    written["run"] = json.dumps({"tags": run.tags, "config": run.run_config}, default=str)
    for place, text in written.items():
        for secret in SECRETS.values():
            assert secret not in text, f"secret found in {place}"
            assert secret.split("/")[-1] not in text, f"webhook token found in {place}"


def test_tracked_files_hold_no_secret():
    """Secrets come only from the environment: profiles.yml reads them with env_var(), and no tracked
    file holds a literal password or a webhook URL with a token."""
    files = subprocess.run(["git", "ls-files"], cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout.split()
    assert files
    profiles = (REPO_ROOT / "dbt_project" / "profiles.yml").read_text()
    assert re.search(r"password:\s*\"\{\{\s*env_var\('KPI_PG_PASSWORD',\s*''\)\s*\}\}\"", profiles)
    literal_password = re.compile(r"""(?i)\b(password|passwd|secret|token)\s*[:=]\s*['"]?(?!\{\{|\$|env_var|os\.environ|<)[A-Za-z0-9+/_\-]{8,}""")
    webhook = re.compile(r"https://hooks\.slack\.com/services/\S+|https://[^\s\"']+/webhook[^\s\"']*token=\w+")
    for name in files:
        path = REPO_ROOT / name
        if not path.is_file() or path.suffix in (".xlsx", ".pdf", ".duckdb", ".parquet"):
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        # (the secrets made up above are in no file by construction: the patterns below are what can fail)
        if path.suffix in (".yml", ".yaml", ".toml", ".cfg", ".ini", ".env", ".json", ".py", ".sql"):
            assert not literal_password.search(text), f"{name}: {literal_password.search(text).group(0)!r}"
        assert not webhook.search(text), name


def _fake_dagster_bin(tmp_path):
    """A bin directory whose python is the project's and whose Dagster programs print how they were started:
    the real Makefile and deploy/services.sh run, up to the program they start."""
    import sys

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python").write_text(f'#!/bin/sh\nexec {sys.executable} "$@"\n')
    for program in ("dagster", "dagster-webserver", "dagster-daemon"):
        (bin_dir / program).write_text(f'#!/bin/sh\necho "started: {program} $*"\n')
    for path in bin_dir.iterdir():
        path.chmod(0o755)
    return bin_dir


def _started(command, tmp_path, **settings):
    import os

    env = {key: value for key, value in os.environ.items() if not key.startswith(("KPI_", "MAKE"))}
    env.update(DAGSTER_HOME=str(tmp_path / "dagster_home"), **settings)
    return subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_dagster_webserver_binds_to_localhost_unless_configured(tmp_path):
    """`make dev` and `deploy/services.sh webserver`/`code-server` run as written, with Dagster's programs
    replaced by ones that print their arguments: 127.0.0.1 unless a setting says otherwise, and a bad
    setting stops the script, named, before anything starts."""
    bin_dir = _fake_dagster_bin(tmp_path)
    make_dev = ["make", "--no-print-directory", "-o", "setup", "-o", ".venv/.installed-from-lock", "dev", f"BIN={bin_dir}"]
    default = _started(make_dev, tmp_path)
    assert "started: dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000" in default.stdout, default.stdout + default.stderr
    chosen = _started(make_dev, tmp_path, KPI_DAGSTER_HOST="0.0.0.0", KPI_DAGSTER_PORT="3100")
    assert "started: dagster dev -w workspace.yaml -h 0.0.0.0 -p 3100" in chosen.stdout, chosen.stdout + chosen.stderr
    bad = _started(make_dev, tmp_path, KPI_DAGSTER_PORT="3000 --debug")
    assert bad.returncode != 0 and "started:" not in bad.stdout
    assert "KPI_DAGSTER_PORT='3000 --debug' is not a TCP port" in bad.stderr

    services = [str(REPO_ROOT / "deploy" / "services.sh")]
    webserver = _started([*services, "webserver"], tmp_path, KPI_BIN=str(bin_dir))
    assert "started: dagster-webserver -w deploy/workspace.yaml -h 127.0.0.1 -p 3000" in webserver.stdout, webserver.stderr
    code_server = _started([*services, "code-server"], tmp_path, KPI_BIN=str(bin_dir), KPI_CODE_SERVER_BIND="0.0.0.0",
                           KPI_CODE_SERVER_PORT="4100")
    assert "-h 0.0.0.0 -p 4100" in code_server.stdout, code_server.stderr
    bad_bind = _started([*services, "code-server"], tmp_path, KPI_BIN=str(bin_dir), KPI_CODE_SERVER_BIND="all; rm")
    assert bad_bind.returncode != 0 and "started:" not in bad_bind.stdout and "KPI_CODE_SERVER_BIND" in bad_bind.stderr
    makefile = (REPO_ROOT / "Makefile").read_text()
    assert "0.0.0.0" not in makefile


# ---------------------------------------------------------------------------- SQL is never spliced with values

# Expressions allowed inside an f-string of SQL: quoted identifiers, constants, escaped literals, and
# local names each module builds from those (reviewed: qualified/keys/columns/where/source/target).
_SAFE_CALLS = {"identifier", "_quote", "sql_string"}
_SAFE_NAMES = {"qualified", "keys", "columns", "where", "source", "target", "column_sql"}
# Known splices without escaping (file, expression), each reviewed: the compiled SQL of one of the
# project's own dbt tests, run to show a failed test's rows (it comes from the repo, not from data),
# on either engine; and the pipeline's own SELECT (built with identifier()) that postgres.copy_query_out
# copies out of PostgreSQL.
_KNOWN: set[tuple[str, str]] = {("orchestration/load/warehouse.py", "query"), ("orchestration/load/postgres_warehouse.py", "query"),
                                ("orchestration/core/postgres.py", "query"),
                                # column types: from the raw schemas' declarations, each checked against a fixed
                                # list of type names when read (load/raw_schema.py), or the ledger's own columns
                                ("orchestration/load/warehouse.py", "cast_select_list(load.table, list(batch.columns))"),
                                ("orchestration/load/upgrade.py", "engine_type(kind)"), ("orchestration/load/upgrade.py", "kind"),
                                # " CASCADE" on PostgreSQL, nothing on DuckDB
                                ("orchestration/load/upgrade.py", "cascade")}


def _sql_fstrings(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            text = "".join(part.value if isinstance(part, ast.Constant) else "{}" for part in node.values)
            if re.match(r"\s*(SELECT|INSERT|DELETE|UPDATE|CREATE|DROP|ALTER|ATTACH|DETACH|COPY|WITH)\b", text):
                yield node


def _unsafe(value: ast.expr) -> bool:
    if isinstance(value, ast.Call):
        name = value.func.id if isinstance(value.func, ast.Name) else getattr(value.func, "attr", "")
        return name not in _SAFE_CALLS
    if isinstance(value, ast.Name):
        return not (value.id.isupper() or value.id in _SAFE_NAMES)
    if isinstance(value, ast.Attribute):
        return not value.attr.isupper()
    return True


def test_sql_takes_values_as_parameters_and_identifiers_from_a_fixed_list():
    found = set()
    for path in sorted((REPO_ROOT / "orchestration").rglob("*.py")):
        tree = ast.parse(path.read_text())
        for fstring in _sql_fstrings(tree):
            for part in fstring.values:
                if isinstance(part, ast.FormattedValue) and _unsafe(part.value):
                    found.add((str(path.relative_to(REPO_ROOT)), ast.unparse(part.value)))
    assert found - _KNOWN == set(), "values spliced into SQL text; pass them as ? parameters or through identifier()"


def test_identifier_refuses_anything_but_a_plain_name():
    from orchestration.load.warehouse import identifier

    assert identifier("fiscal_year") == '"fiscal_year"'
    for bad in ('x"; DROP TABLE raw.a; --', "a b", "A", "1x", "", "raw.t"):
        with pytest.raises(ValueError):
            identifier(bad)


# ---------------------------------------------------------------------------- archive paths and hosts


def test_a_manifest_entry_pointing_outside_its_landing_is_refused(tmp_path):
    writer = LandingWriter(tmp_path, "cbp")
    writer.add("data.csv", b"a\n1\n", url="http://example/data.csv")
    landing = writer.finish()
    manifest = json.loads((landing.path / "manifest.json").read_text())
    manifest["entries"][0]["file"] = "../../../etc/passwd"
    (landing.path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(SourceFormatError, match="points outside its landing"):
        read_landing(landing.path, "cbp")


def test_a_file_url_on_another_host_is_refused_before_any_request(httpserver, tmp_path, monkeypatch):
    live = LivePublishers(httpserver)
    try:
        settings = live_settings(live, "cbp", tmp_path, monkeypatch, **{cbp.CBP_CSV_URL_ENV: "http://evil.example/sbo-encounters.csv"})
        with pytest.raises(SourceFetchError, match=r"\[cbp\] http://evil\.example/sbo-encounters\.csv: refusing to fetch from 'evil\.example'"):
            fetch(cbp.SPEC, settings)
    finally:
        live.stop()


def test_index_page_links_to_other_hosts_are_fetched_from_the_configured_host():
    assert state_dept.rebase_url("https://evil.example/content/x/FY23_Table_III.pdf", "http://127.0.0.1:1") == \
        "http://127.0.0.1:1/content/x/FY23_Table_III.pdf"
