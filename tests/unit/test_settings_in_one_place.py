"""Promise 32: every setting is read and validated in one place, orchestration/core/settings.py.

Proved three ways: every variable (the platform's, every source's, those the shell scripts use) has a bad
value the settings refuse naming it, or is listed here as free text with the reason; no other module of
the code location touches the environment except where listed with a reason (the module's syntax tree is
read, so ``{**os.environ}``, ``from os import environ`` and ``os.getenv`` are seen, whatever the spacing);
shell scripts and the Makefile read no ``KPI_*`` variable themselves, but ask
``python -m orchestration.cli settings --get``.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from orchestration.config import declared_source_settings, load_settings
from orchestration.core.errors import SettingsError
from orchestration.core.settings import PLATFORM_VARIABLES, PROJECT_ROOT, SECRET_VARIABLES, variable_value

# one value each variable refuses, and what the error says (the variable's name is checked for every one)
BAD_VALUES = {
    "KPI_WAREHOUSE_PATH": (str(PROJECT_ROOT / "snapshot" / "kpi.duckdb"), "is inside KPI_SNAPSHOT_DIR"),
    "KPI_SERVING_DIR": (str(PROJECT_ROOT / "data" / "warehouse"), "must not be the warehouse's own directory"),
    "KPI_SOURCE_MODE": ("offline", "use one of replay, live"),
    "KPI_SNAPSHOT_DIR": ("/nonexistent/snapshot", "is not a directory"),
    "KPI_LANDING_DIR": (str(PROJECT_ROOT / "data" / "serving" / "landing"), "is inside KPI_SERVING_DIR"),
    "KPI_VALIDATION_DIR": (str(PROJECT_ROOT / "expectations" / "results"), "is inside the GX project"),
    "KPI_COUNTRIES": ("HND,XXX", "does not know: XXX"),
    "KPI_HTTP_TIMEOUT_SECONDS": ("soon", "is not a number"),
    "KPI_HTTP_RETRIES": ("-1", "must be a whole number"),
    "KPI_HTTP_BACKOFF_FACTOR": ("-2", "must be >= 0"),
    "KPI_ALERT_WEBHOOK_URL": ("not a url", "is set but is not an http(s) URL"),
    "KPI_SCHEDULE_CRON": ("0 25 * * *", "is not a cron schedule"),
    "KPI_SCHEDULE_TIMEZONE": ("Mars/Olympus", "is not an IANA time zone"),
    "KPI_REVISION_WINDOW_YEARS": ("0", "must be a whole number from 1"),
    "KPI_WAREHOUSE": ("snowflake", "use one of duckdb, postgres"),
    "KPI_DBT_TARGET": ("snowflake", "use one of duckdb, postgres"),
    "KPI_WAREHOUSE_LOCK_TIMEOUT_SECONDS": ("forever", "is not a number"),
    "KPI_HTTP_REQUEST_DEADLINE_SECONDS": ("0", "must be > 0"),
    "KPI_SOURCE_FETCH_DEADLINE_SECONDS": ("-5", "must be > 0"),
    "KPI_PG_PORT": ("99999", "is not a TCP port"),
    "KPI_PUBLISH_POSTGRES": ("maybe", "use 1 or 0"),
    "KPI_PG_PUBLISH_SCHEMA": ("Marts; drop", "is not a plain lower-case identifier"),
    "KPI_PG_READER_ROLES": ("bi, drop table", "is not a plain lower-case identifier"),
    "KPI_DAGSTER_HOST": ("0.0.0.0 --debug", "is not a host name or IP address"),
    "KPI_DAGSTER_PORT": ("http", "is not a TCP port"),
    "KPI_CODE_SERVER_HOST": ("-h", "is not a host name or IP address"),
    "KPI_CODE_SERVER_PORT": ("70000", "is not a TCP port"),
    "KPI_CODE_SERVER_BIND": ("every interface", "is not a host name or IP address"),
    "KPI_BIN": ("/usr/share", "does not hold the Dagster programs"),
    "KPI_FETCH_PHASE_DEADLINE_SECONDS": ("ten minutes", "is not a number"),
    "KPI_FETCH_MAX_RESPONSE_MB": ("lots", "is not a number"),
    "KPI_FETCH_MAX_BODY_MB": ("-1", "must be"),
    "KPI_FETCH_MAX_LANDING_MB": ("big", "is not a number"),
    "KPI_LANDING_ARCHIVE_MAX_MB": ("0", "must be > 0"),
}
# Variables with no value the settings could refuse, and why
FREE_TEXT = {
    "KPI_LOG_DIR": "any directory: created when a run starts",
    "KPI_FAILURES_DIR": "any directory: created when a run fails",
    "KPI_PG_HOST": "a host name, an address or a Unix socket directory: libpq decides",
    "KPI_PG_USER": "any PostgreSQL role name",
    "KPI_PG_PASSWORD": "a secret: any text",
    "KPI_PG_DATABASE": "any PostgreSQL database name",
    "KPI_PG_PUBLISH_DATABASE": "any PostgreSQL database name",
}


def every_variable() -> set[str]:
    return set(PLATFORM_VARIABLES) | {setting.env for setting in declared_source_settings()}


def source_bad_values() -> dict[str, tuple[str, str]]:
    bad = {}
    for setting in declared_source_settings():
        if setting.kind in ("url", "url_list"):
            bad[setting.env] = ("ftp://mirror.example/file", "is not an http(s) URL")
    return bad


def free_text_sources() -> set[str]:
    return {setting.env for setting in declared_source_settings() if setting.kind == "text"}


def test_every_variable_has_a_bad_value_or_a_reason_to_take_any_text():
    covered = set(BAD_VALUES) | set(source_bad_values()) | set(FREE_TEXT) | free_text_sources()
    assert every_variable() - covered == set(), "a setting no test gives a bad value: add it to BAD_VALUES or FREE_TEXT"
    assert covered - every_variable() == set(), "a variable listed here that the settings no longer read"


@pytest.mark.parametrize("name", sorted(BAD_VALUES) + sorted(source_bad_values()))
def test_every_setting_refuses_a_bad_value_naming_the_variable(name):
    value, message = {**BAD_VALUES, **source_bad_values()}[name]
    with pytest.raises(SettingsError) as raised:
        load_settings({name: value})
    assert name in str(raised.value)
    assert message in str(raised.value)
    if name in SECRET_VARIABLES:
        assert value not in str(raised.value)


def test_the_registry_names_every_variable_the_settings_module_reads():
    """PLATFORM_VARIABLES (what `settings --get` serves and the test above covers) is complete: every KPI_*
    name in the modules that read the environment for the settings is in it."""
    read = set()
    for module in ("orchestration/core/settings.py", "orchestration/core/postgres.py"):
        for node in ast.walk(ast.parse((PROJECT_ROOT / module).read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and re.fullmatch(r"KPI_[A-Z0-9_]+", node.value):
                read.add(node.value)
    assert read - set(PLATFORM_VARIABLES) == set()


def test_the_validated_values_are_what_the_shell_reads():
    settings = load_settings({"KPI_DAGSTER_HOST": "0.0.0.0", "KPI_CODE_SERVER_PORT": "4100", "KPI_COUNTRIES": "hnd,gtm",
                              "KPI_ALERT_WEBHOOK_URL": "https://hooks.example/T0KEN"})
    declared = declared_source_settings()
    assert variable_value(settings, "KPI_DAGSTER_HOST", declared) == "0.0.0.0"
    assert variable_value(settings, "KPI_DAGSTER_PORT", declared) == "3000"
    assert variable_value(settings, "KPI_CODE_SERVER_PORT", declared) == "4100"
    assert variable_value(settings, "KPI_COUNTRIES", declared) == "HND,GTM"
    assert variable_value(settings, "KPI_WORLDBANK_BASE_URL", declared) == "https://api.worldbank.org/v2"
    for secret in SECRET_VARIABLES:
        with pytest.raises(SettingsError, match="is a secret"):
            variable_value(settings, secret, declared)
    with pytest.raises(SettingsError, match="KPI_NO_SUCH is not a setting"):
        variable_value(settings, "KPI_NO_SUCH", declared)


def test_the_settings_command_validates_and_prints_without_secrets():
    env = {key: value for key, value in os.environ.items() if not key.startswith("KPI_")}
    command = [sys.executable, "-m", "orchestration.cli", "settings"]
    got = subprocess.run([*command, "--get", "KPI_DAGSTER_PORT", "KPI_CODE_SERVER_BIND"], cwd=PROJECT_ROOT,
                         env={**env, "KPI_CODE_SERVER_BIND": "0.0.0.0"}, capture_output=True, text=True)
    assert (got.returncode, got.stdout) == (0, "3000\n0.0.0.0\n"), got.stderr
    listing = subprocess.run(command, cwd=PROJECT_ROOT, env={**env, "KPI_PG_PASSWORD": "pw-T0KEN"},
                             capture_output=True, text=True)
    assert listing.returncode == 0 and "KPI_DAGSTER_HOST=127.0.0.1" in listing.stdout.splitlines()
    assert "T0KEN" not in listing.stdout + listing.stderr and "KPI_PG_PASSWORD" not in listing.stdout
    bad = subprocess.run([*command, "--get", "KPI_DAGSTER_HOST"], cwd=PROJECT_ROOT,
                         env={**env, "KPI_DAGSTER_PORT": "99999"}, capture_output=True, text=True)
    # every setting is validated, not only the one asked for
    assert bad.returncode == 2 and bad.stdout == "" and "KPI_DAGSTER_PORT='99999' is not a TCP port" in bad.stderr


# ------------------------------------------------------------------ no other module reads the environment

# Every place outside settings.py where the code location touches the process environment, with why it is no
# settings read: (module, enclosing function, the expression) -> reason. Anything else fails the test below.
ENVIRONMENT_USES_ALLOWED = {
    ("orchestration/cli.py", "_instance", "os.environ.setdefault('DAGSTER_HOME', str(PROJECT_ROOT / 'data' / 'dagster_home'))"):
        "Dagster's own variable: the instance `make dev` shows, defaulted for the CLI's runs",
    ("orchestration/platform/instance_storage.py", "*", "os.environ.setdefault(EVENT_BATCH_SIZE_ENV, str(EVENT_BATCH_SIZE))"):
        "Dagster's own variable (event batching), defaulted",
    ("orchestration/publish/publication.py", "*", "{**os.environ, **settings.dbt_env(), 'DBT_SEND_ANONYMOUS_USAGE_STATS': 'false'}"):
        "the environment handed whole to the dbt docs subprocess, the validated settings over it",
    ("orchestration/transform/dbt_runner.py", "_profile_key", "os.environ"):
        "dbt's profile variables when no profile is given (dbt run as by hand, reading its environment): the parse cache's key",
    ("orchestration/platform/resources.py", "from_environment", "os.environ"):
        "which KPI_* variables are set: each becomes a dg.EnvVar that Dagster reads and the registry validates "
        "(the sources' declared URLs are read as text, and validated by the registry too)",
    ("orchestration/transform/manifest.py", "*", "os.environ.setdefault('DBT_SEND_ANONYMOUS_USAGE_STATS', 'false')"):
        "dbt's own variable, defaulted",
}
_ENVIRONMENT_ATTRIBUTES = {"environ", "environb", "getenv", "getenvb", "putenv", "unsetenv"}


def environment_uses(tree: ast.AST) -> list[tuple[str, str]]:
    """(enclosing function, expression) for every use of the process environment in a module: through ``os``
    (or an alias of it), or names imported from it (``from os import environ, getenv``)."""
    os_names, direct_names = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            os_names |= {alias.asname or alias.name for alias in node.names if alias.name in ("os", "posix")}
        if isinstance(node, ast.ImportFrom) and node.module in ("os", "posix"):
            direct_names |= {alias.asname or alias.name for alias in node.names if alias.name in _ENVIRONMENT_ATTRIBUTES}
    parents = {child: parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)}

    def function_of(node) -> str:
        while node in parents:
            node = parents[node]
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                return node.name
        return "<module>"

    def use_of(reference) -> ast.AST:
        # the expression that uses the environment: os.environ.get(...), os.environ[...], and where the mapping
        # itself is handed on, the dict or call it goes into ({**os.environ, ...}, dict(os.environ))
        node = reference
        while True:
            parent = parents.get(node)
            if ((isinstance(parent, ast.Attribute) and parent.value is node) or (isinstance(parent, ast.Call) and parent.func is node)
                    or (isinstance(parent, ast.Subscript) and parent.value is node)
                    or (node is reference and isinstance(parent, (ast.Dict, ast.Call, ast.Starred)))):
                node = parent
                continue
            if node is not reference and isinstance(node, ast.Starred) and isinstance(parent, ast.Call):
                node = parent
                continue
            return node

    uses = []
    for node in ast.walk(tree):
        through_os = (isinstance(node, ast.Attribute) and node.attr in _ENVIRONMENT_ATTRIBUTES
                      and isinstance(node.value, ast.Name) and node.value.id in os_names)
        imported = isinstance(node, ast.Name) and node.id in direct_names
        if through_os or imported:
            uses.append((function_of(node), ast.unparse(use_of(node))))
    return uses


def test_no_module_reads_a_kpi_setting_from_the_environment_but_settings():
    """Settings in one place: every KPI_* variable is parsed and validated by orchestration/core/settings.py."""
    found = set()
    for path in sorted((PROJECT_ROOT / "orchestration").rglob("*.py")):
        module = str(path.relative_to(PROJECT_ROOT))
        if module == "orchestration/core/settings.py":
            continue
        for function, expression in environment_uses(ast.parse(path.read_text(), module)):
            found.add((module, function, expression))
    allowed = {(module, function, expression) for module, function, expression in ENVIRONMENT_USES_ALLOWED}
    unexplained = {use for use in found if use not in allowed and (use[0], "*", use[2]) not in allowed}
    assert unexplained == set(), "read the setting in orchestration/core/settings.py, or explain this use here"


@pytest.mark.parametrize("source", [
    "import os\nhome = os.environ.get('KPI_WAREHOUSE_PATH')",
    "import os\nenv = {**os.environ}",
    "import os\nenv = dict( os.environ )",
    "from os import environ\nx = environ['KPI_COUNTRIES']",
    "from os import getenv as g\nx = g('KPI_COUNTRIES')",
    "import os as o\nx = o.getenv('KPI_COUNTRIES')",
    "import os\ndef f():\n    return os.environ.copy()",
])
def test_the_scan_sees_every_way_of_reading_the_environment(source):
    assert environment_uses(ast.parse(source)), source


# ------------------------------------------------------------------ shell scripts ask the settings module

SHELL_FILES = ("Makefile", "deploy/services.sh")
# a shell read of a KPI_* variable: $KPI_X or ${KPI_X...}; Make's $$ escapes the same
_SHELL_READ = re.compile(r"\$\$?\{?(KPI_[A-Z0-9_]+)")
# KPI_BIN says where Python is, so deploy/services.sh reads it before it can ask; the settings module then checks it
SHELL_READS_ALLOWED = {("deploy/services.sh", "KPI_BIN")}


def test_shell_scripts_read_no_setting_but_through_the_settings_module():
    scripts = set(SHELL_FILES) | {str(path.relative_to(PROJECT_ROOT)) for folder in ("deploy", "scripts", "bench")
                                  for path in (PROJECT_ROOT / folder).rglob("*.sh")}
    reads = set()
    for script in sorted(scripts):
        for line in (PROJECT_ROOT / script).read_text().splitlines():
            if line.lstrip().startswith("#"):
                continue
            reads |= {(script, name) for name in _SHELL_READ.findall(line)}
    assert reads - SHELL_READS_ALLOWED == set()
    # what deploy/workspace.yaml reads from the environment, deploy/services.sh exports from the settings module
    workspace = set(re.findall(r"env:\s*(KPI_[A-Z0-9_]+)", (PROJECT_ROOT / "deploy" / "workspace.yaml").read_text()))
    services = (PROJECT_ROOT / "deploy" / "services.sh").read_text()
    exported = set(re.findall(r"^export ((?:KPI_[A-Z0-9_]+=\S+\s*)+)$", services, re.MULTILINE)[0].split()) if workspace else set()
    assert workspace == {item.split("=")[0] for item in exported}
