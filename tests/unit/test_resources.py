"""The settings as Dagster resources (orchestration/platform/resources.py): every variable has one home, the
environment is read through dg.EnvVar (a secret's value never in the resource's config), the registry still
validates and names the variable, and the warehouse resource holds the writer lock for exactly one run."""

from __future__ import annotations

import subprocess
import sys

import dagster as dg
import pytest

from orchestration.config import load_settings
from orchestration.core.errors import SettingsError
from orchestration.core.settings import PLATFORM_VARIABLES
from orchestration.load.lock import current_holder, lock_path
from orchestration.platform.contract_assets import source_contracts
from orchestration.platform.resources import (
    PROCESS_VARIABLES, RESOURCE_TYPES, build_resources, resources_from_mapping, settings_for_step, settings_of,
)
from tests.conftest import warehouse_env

HOLD_IN_ANOTHER_PROCESS = """
import sys
from pathlib import Path
from orchestration.load.lock import warehouse_writer
with warehouse_writer(Path(sys.argv[1]), 5, what="another writer"):
    print("held", flush=True)
    sys.stdin.read()
"""


def test_every_platform_variable_has_exactly_one_home():
    homes = [variable for kind in RESOURCE_TYPES.values() for variable in kind.VARIABLES.values()]
    assert len(homes) == len(set(homes)), "a variable in two resources"
    assert set(homes) | PROCESS_VARIABLES == set(PLATFORM_VARIABLES)
    assert not set(homes) & PROCESS_VARIABLES


def test_the_environment_is_read_through_env_vars_and_a_secret_stays_a_name():
    environ = {"KPI_PG_PASSWORD": "pw-T0KEN", "KPI_WAREHOUSE": "postgres", "KPI_ALERT_WEBHOOK_URL": "https://hooks.example/T0KEN",
               "KPI_HTTP_RETRIES": "2", "KPI_WORLDBANK_BASE_URL": "https://mirror.example/wb"}
    resources = build_resources(environ)
    warehouse = resources["warehouse"]
    assert isinstance(warehouse.pg_password, dg.EnvVar) and warehouse.pg_password.env_var_name == "KPI_PG_PASSWORD"
    assert isinstance(resources["alerting"].webhook_url, dg.EnvVar)
    assert warehouse.duckdb_path is None  # unset: the registry's default, never an EnvVar that would fail the run
    assert resources["sources"].declared == {"KPI_WORLDBANK_BASE_URL": "https://mirror.example/wb"}
    assert "T0KEN" not in repr(resources)


def test_explicit_resources_give_what_the_registry_gives_for_the_same_values(tmp_path):
    env = warehouse_env(tmp_path, KPI_COUNTRIES="HND,GTM", KPI_HTTP_RETRIES="2", KPI_WORLDBANK_BASE_URL="https://mirror.example/wb")
    assert settings_of(*resources_from_mapping(env).values()) == load_settings(env)
    assert settings_of(*resources_from_mapping({}).values()) == load_settings({})


def test_a_bad_value_fails_the_step_naming_the_variable(tmp_path):
    resources = resources_from_mapping(warehouse_env(tmp_path, KPI_HTTP_RETRIES="many"))
    with pytest.raises(SettingsError, match="KPI_HTTP_RETRIES='many'"):
        settings_of(*resources.values())
    with pytest.raises(dg.Failure, match="configuration error: KPI_HTTP_RETRIES='many'"):
        settings_for_step(*resources.values())


def test_a_run_holds_the_warehouse_and_gives_it_back_when_it_ends(tmp_path):
    env = warehouse_env(tmp_path, KPI_WAREHOUSE_LOCK_TIMEOUT_SECONDS="0")
    warehouse_file = tmp_path / "warehouse" / "kpi.duckdb"
    result = dg.materialize([source_contracts], resources=resources_from_mapping(env), raise_on_error=False)
    assert result.success
    assert lock_path(warehouse_file).is_file()  # the run took the lock...
    assert current_holder(warehouse_file) is None  # ...and its end gave it back: nothing stays held in this process

    other = subprocess.Popen([sys.executable, "-c", HOLD_IN_ANOTHER_PROCESS, str(warehouse_file)], stdout=subprocess.PIPE,
                             stdin=subprocess.PIPE, text=True)
    try:
        assert other.stdout.readline().strip() == "held"
        busy = dg.materialize([source_contracts], resources=resources_from_mapping(env), raise_on_error=False)
    finally:
        other.communicate("")
    assert not busy.success
    failure = next(event for event in busy.all_events if event.is_step_failure)
    assert "held by" in failure.step_failure_data.user_failure_data.description
