"""The deployment's settings as Dagster resources: the warehouse, the sources, HTTP, serving and alerting.

Each resource's fields are the raw text of the ``KPI_*`` variables it stands for (``VARIABLES``);
``None`` means "unset": the registry (``orchestration.core.settings``) gives the default. The
registry still parses and validates them, once, naming the variable in any error, so a value
reaches a step exactly as ``python -m orchestration.cli settings`` shows it.

``build_resources()`` is the one place that reads the environment: every variable that is set
becomes a ``dg.EnvVar``, so Dagster resolves it where the run executes and shows the variable's
name, never its value (the PostgreSQL password, the webhook URL), in the UI and in run config.
The code location (``orchestration.definitions``) and the CLI both call it; tests build the
resources with explicit values instead (``resources_from_mapping``), and set no environment variable.

The warehouse resource also holds the writer lock for the run (``WarehouseResource.hold``): the
first writing step takes it (after its fetch: fetching never holds it), and Dagster's teardown of
the resource gives it back when the run ends, failed or not.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import os
from collections.abc import Mapping
from typing import ClassVar, Optional

import dagster as dg
from pydantic import PrivateAttr

from orchestration.config import declared_source_settings, load_settings
from orchestration.core.errors import SettingsError
from orchestration.core.settings import Settings

# Variables no step reads: the schedule's own (read when the code location loads) and the shell's
# (the Dagster processes `make dev` and deploy/services.sh start). They stay environment variables.
PROCESS_VARIABLES = frozenset({
    "KPI_SCHEDULE_CRON", "KPI_SCHEDULE_TIMEZONE", "KPI_DAGSTER_HOST", "KPI_DAGSTER_PORT", "KPI_CODE_SERVER_HOST",
    "KPI_CODE_SERVER_PORT", "KPI_CODE_SERVER_BIND", "KPI_BIN",
})


class SettingsResource(dg.ConfigurableResource):
    """A group of settings; ``VARIABLES`` maps each field to the variable whose text it holds."""

    VARIABLES: ClassVar[dict[str, str]] = {}

    def variables(self) -> dict[str, str]:
        """The variables this resource sets (its fields that are not None), as text; an ``dg.EnvVar`` not
        resolved yet (outside a run: the CLI, a sensor) is read here."""
        values = {}
        for name, variable in self.VARIABLES.items():
            value = getattr(self, name)
            if isinstance(value, dg.EnvVar):
                values[variable] = value.get_value(default="")
            elif value is not None:
                values[variable] = str(value)
        return values

    @classmethod
    def from_mapping(cls, env: Mapping[str, str]):
        """The resource with the values ``env`` gives its variables (explicit values: tests, scripts)."""
        return cls(**{name: env[variable] for name, variable in cls.VARIABLES.items() if variable in env})

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None):
        """The resource reading every variable that is set through ``dg.EnvVar`` (unset: the registry's default;
        an EnvVar of an unset variable would fail the run)."""
        environ = os.environ if environ is None else environ
        return cls(**{name: dg.EnvVar(variable) for name, variable in cls.VARIABLES.items()
                      if environ.get(variable, "").strip()})


class SourcesResource(SettingsResource):
    """Where the publishers' bytes come from: replay or live, the snapshot, the landing archive, the
    countries, and the settings each source declares in its SPEC (base URLs, file lists), by variable."""

    source_mode: Optional[str] = None
    snapshot_dir: Optional[str] = None
    landing_dir: Optional[str] = None
    countries: Optional[str] = None
    revision_window_years: Optional[str] = None
    # KPI_* variable -> text, for the settings the sources declare (orchestration/sources/<name>/__init__.py)
    declared: dict[str, str] = {}

    VARIABLES: ClassVar[dict[str, str]] = {
        "source_mode": "KPI_SOURCE_MODE", "snapshot_dir": "KPI_SNAPSHOT_DIR", "landing_dir": "KPI_LANDING_DIR",
        "countries": "KPI_COUNTRIES", "revision_window_years": "KPI_REVISION_WINDOW_YEARS",
    }

    def variables(self) -> dict[str, str]:
        return {**super().variables(), **self.declared}

    @classmethod
    def from_mapping(cls, env: Mapping[str, str]):
        names = {setting.env for setting in declared_source_settings()}
        return cls(**{name: env[variable] for name, variable in cls.VARIABLES.items() if variable in env},
                   declared={variable: env[variable] for variable in sorted(names) if variable in env})

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None):
        # the declared settings are URLs and file lists, never secrets: their values, read here
        environ = os.environ if environ is None else environ
        declared = {setting.env: environ[setting.env] for setting in declared_source_settings()
                    if environ.get(setting.env, "").strip()}
        return cls(**{name: dg.EnvVar(variable) for name, variable in cls.VARIABLES.items()
                      if environ.get(variable, "").strip()}, declared=declared)


class HttpResource(SettingsResource):
    """How live fetches talk to publishers: timeouts, retries, deadlines and size limits."""

    timeout_seconds: Optional[str] = None
    retries: Optional[str] = None
    backoff_factor: Optional[str] = None
    request_deadline_seconds: Optional[str] = None
    source_fetch_deadline_seconds: Optional[str] = None
    fetch_phase_deadline_seconds: Optional[str] = None
    max_response_mb: Optional[str] = None
    max_body_mb: Optional[str] = None
    max_landing_mb: Optional[str] = None
    landing_archive_max_mb: Optional[str] = None

    VARIABLES: ClassVar[dict[str, str]] = {
        "timeout_seconds": "KPI_HTTP_TIMEOUT_SECONDS", "retries": "KPI_HTTP_RETRIES",
        "backoff_factor": "KPI_HTTP_BACKOFF_FACTOR", "request_deadline_seconds": "KPI_HTTP_REQUEST_DEADLINE_SECONDS",
        "source_fetch_deadline_seconds": "KPI_SOURCE_FETCH_DEADLINE_SECONDS",
        "fetch_phase_deadline_seconds": "KPI_FETCH_PHASE_DEADLINE_SECONDS", "max_response_mb": "KPI_FETCH_MAX_RESPONSE_MB",
        "max_body_mb": "KPI_FETCH_MAX_BODY_MB", "max_landing_mb": "KPI_FETCH_MAX_LANDING_MB",
        "landing_archive_max_mb": "KPI_LANDING_ARCHIVE_MAX_MB",
    }


class ServingResource(SettingsResource):
    """Where a publication goes: the serving directory, the validation results, and PostgreSQL publishing."""

    serving_dir: Optional[str] = None
    validation_dir: Optional[str] = None
    publish_postgres: Optional[str] = None
    pg_publish_schema: Optional[str] = None
    pg_publish_database: Optional[str] = None
    pg_reader_roles: Optional[str] = None

    VARIABLES: ClassVar[dict[str, str]] = {
        "serving_dir": "KPI_SERVING_DIR", "validation_dir": "KPI_VALIDATION_DIR", "publish_postgres": "KPI_PUBLISH_POSTGRES",
        "pg_publish_schema": "KPI_PG_PUBLISH_SCHEMA", "pg_publish_database": "KPI_PG_PUBLISH_DATABASE",
        "pg_reader_roles": "KPI_PG_READER_ROLES",
    }


class AlertingResource(SettingsResource):
    """Where failures are recorded and announced: the records' directory, the webhook (a secret), run logs."""

    failures_dir: Optional[str] = None
    webhook_url: Optional[str] = None
    log_dir: Optional[str] = None

    VARIABLES: ClassVar[dict[str, str]] = {
        "failures_dir": "KPI_FAILURES_DIR", "webhook_url": "KPI_ALERT_WEBHOOK_URL", "log_dir": "KPI_LOG_DIR",
    }


class WarehouseResource(SettingsResource):
    """The warehouse: its engine, the DuckDB file or the PostgreSQL connection (the password read
    through ``dg.EnvVar``, never copied into ``os.environ``), and its writer lock, held for the run."""

    engine: Optional[str] = None
    duckdb_path: Optional[str] = None
    dbt_target: Optional[str] = None  # KPI_DBT_TARGET, the engine's older name (read when KPI_WAREHOUSE is unset)
    pg_host: Optional[str] = None
    pg_port: Optional[str] = None
    pg_user: Optional[str] = None
    pg_password: Optional[str] = None
    pg_database: Optional[str] = None
    lock_timeout_seconds: Optional[str] = None

    VARIABLES: ClassVar[dict[str, str]] = {
        "engine": "KPI_WAREHOUSE", "duckdb_path": "KPI_WAREHOUSE_PATH", "dbt_target": "KPI_DBT_TARGET",
        "pg_host": "KPI_PG_HOST", "pg_port": "KPI_PG_PORT", "pg_user": "KPI_PG_USER", "pg_password": "KPI_PG_PASSWORD",
        "pg_database": "KPI_PG_DATABASE", "lock_timeout_seconds": "KPI_WAREHOUSE_LOCK_TIMEOUT_SECONDS",
    }

    _hold: Optional[contextlib.ExitStack] = PrivateAttr(default=None)

    def hold(self, context: dg.AssetExecutionContext, settings: Settings) -> None:
        """Hold the warehouse from this (writing) step to the end of the run: the run's steps (load, dbt,
        publish) are one writer from first to last. The first hold of a run also finds the warehouse
        upgraded to this version (orchestration/load/upgrade.py) or refuses before writing."""
        if self._hold is not None:
            return
        from orchestration.load.engines import warehouse_for
        from orchestration.load.lock import WarehouseBusy, holding_for_run
        from orchestration.load.upgrade import UpgradeRefused, prepare_warehouse

        warehouse = warehouse_for(settings)
        stack = contextlib.ExitStack()
        try:
            stack.enter_context(holding_for_run(warehouse.writer_lock(), settings.warehouse_lock_timeout_seconds,
                                                context.run_id, what=f"Dagster run of {context.job_name}",
                                                log=context.log.info))
        except WarehouseBusy as exc:
            raise dg.Failure(description=str(exc), allow_retries=False) from exc
        self._hold = stack
        try:
            prepare_warehouse(warehouse, log=context.log.info)
        except UpgradeRefused as exc:
            raise dg.Failure(description=f"upgrade refused: {exc}", allow_retries=False) from exc

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        # the end of the run (in-process), or of the step's process (multiprocess: the run's process holds it)
        if self._hold is not None:
            self._hold.close()
            self._hold = None


RESOURCE_TYPES = {"warehouse": WarehouseResource, "sources": SourcesResource, "http": HttpResource,
                  "serving": ServingResource, "alerting": AlertingResource}


def build_resources(environ: Mapping[str, str] | None = None) -> dict[str, SettingsResource]:
    """Every resource of the code location, reading the environment through ``dg.EnvVar``: what
    ``Definitions(resources=...)`` wires and what the CLI runs with."""
    return {key: kind.from_environment(environ) for key, kind in RESOURCE_TYPES.items()}


def resources_from_mapping(env: Mapping[str, str]) -> dict[str, SettingsResource]:
    """Every resource with explicit values (the variables of ``env``; the rest default), no environment read."""
    return {key: kind.from_mapping(env) for key, kind in RESOURCE_TYPES.items()}


@functools.lru_cache(maxsize=16)
def _validated(variables: tuple[tuple[str, str], ...], today: dt.date) -> Settings:
    return load_settings(dict(variables))  # ``today``: the settings' last year is the current one


def settings_of(*resources: SettingsResource) -> Settings:
    """The validated settings the ``resources`` give (unset variables: the registry's defaults); validated
    once per process for each set of values. Raises SettingsError naming the variable."""
    variables: dict[str, str] = {}
    for resource in resources:
        variables.update(resource.variables())
    return _validated(tuple(sorted(variables.items())), dt.date.today())


def settings_for_step(*resources: SettingsResource) -> Settings:
    """``settings_of`` in a step: a bad setting fails the step at once and is never retried."""
    try:
        return settings_of(*resources)
    except SettingsError as exc:
        raise dg.Failure(description=f"configuration error: {exc}", allow_retries=False) from exc


def resource_variables() -> dict[str, str]:
    """Every platform variable a resource stands for -> the resource's key."""
    return {variable: key for key, kind in RESOURCE_TYPES.items() for variable in kind.VARIABLES.values()}

