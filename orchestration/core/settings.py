"""Settings from the environment, with defaults that work from a fresh clone.

Every ``KPI_*`` variable is read and validated here, once, so a typo fails the run at start with
the variable's name (a configuration error is never retried). Other modules take a ``Settings``;
none reads ``os.environ`` for a ``KPI_*`` setting itself.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Iterable

from orchestration.core.countries import known_iso3
from orchestration.core.errors import SettingsError
from orchestration.core.postgres import PostgresTarget

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"
# where GX writes validation results and Data Docs (the project itself is EXPECTATIONS_DIR, in git)
DEFAULT_VALIDATION_DIR = PROJECT_ROOT / "data" / "validation"
BUNDLED_SNAPSHOT_DIR = PROJECT_ROOT / "snapshot"

SOURCE_MODES = ("replay", "live")
# the warehouse engines; each is also the name of its output in dbt_project/profiles.yml
WAREHOUSE_ENGINES = ("duckdb", "postgres")
DBT_TARGETS = WAREHOUSE_ENGINES
# the schemas dbt and the pipeline write in the warehouse: a PostgreSQL publication in the
# warehouse's own database must use another name
WAREHOUSE_SCHEMAS = ("raw", "staging", "intermediate", "marts", "reference", "meta")
DEFAULT_COUNTRIES = ("HND", "GTM", "SLV", "NIC", "MEX")
FIRST_YEAR = 2000
DEFAULT_SCHEDULE_CRON = "0 6 * * *"
DEFAULT_REVISION_WINDOW_YEARS = 3

# Every platform variable Settings.from_env reads, and where its parsed value is (an attribute path).
# Shell scripts (the Makefile's dev target, deploy/services.sh) read theirs through
# `python -m orchestration.cli settings --get NAME`, so they get the value validated here, never the raw text.
PLATFORM_VARIABLES = {
    "KPI_WAREHOUSE_PATH": "warehouse_path",
    "KPI_SERVING_DIR": "serving_dir",
    "KPI_SOURCE_MODE": "source_mode",
    "KPI_SNAPSHOT_DIR": "snapshot_dir",
    "KPI_LANDING_DIR": "landing_dir",
    "KPI_COUNTRIES": "countries",
    "KPI_HTTP_TIMEOUT_SECONDS": "http_timeout_seconds",
    "KPI_HTTP_RETRIES": "http_retries",
    "KPI_HTTP_BACKOFF_FACTOR": "http_backoff_factor",
    "KPI_LOG_DIR": "log_dir",
    "KPI_FAILURES_DIR": "failures_dir",
    "KPI_VALIDATION_DIR": "validation_dir",
    "KPI_ALERT_WEBHOOK_URL": "alert_webhook_url",
    "KPI_SCHEDULE_CRON": "schedule_cron",
    "KPI_SCHEDULE_TIMEZONE": "schedule_timezone",
    "KPI_REVISION_WINDOW_YEARS": "revision_window_years",
    "KPI_WAREHOUSE": "warehouse",
    "KPI_DBT_TARGET": "dbt_target",
    "KPI_WAREHOUSE_LOCK_TIMEOUT_SECONDS": "warehouse_lock_timeout_seconds",
    "KPI_HTTP_REQUEST_DEADLINE_SECONDS": "http_request_deadline_seconds",
    "KPI_SOURCE_FETCH_DEADLINE_SECONDS": "source_fetch_deadline_seconds",
    "KPI_PG_HOST": "postgres.host",
    "KPI_PG_PORT": "postgres.port",
    "KPI_PG_USER": "postgres.user",
    "KPI_PG_PASSWORD": "postgres.password",
    "KPI_PG_DATABASE": "postgres.database",
    "KPI_PUBLISH_POSTGRES": "postgres.publish",
    "KPI_PG_PUBLISH_SCHEMA": "postgres.publish_schema",
    "KPI_PG_PUBLISH_DATABASE": "postgres.publish_database",
    "KPI_PG_READER_ROLES": "postgres.reader_roles",
    "KPI_DAGSTER_HOST": "dagster_host",
    "KPI_DAGSTER_PORT": "dagster_port",
    "KPI_CODE_SERVER_HOST": "code_server_host",
    "KPI_CODE_SERVER_PORT": "code_server_port",
    "KPI_CODE_SERVER_BIND": "code_server_bind",
    "KPI_BIN": "bin_dir",
    "KPI_FETCH_PHASE_DEADLINE_SECONDS": "fetch_phase_deadline_seconds",
    "KPI_FETCH_MAX_RESPONSE_MB": "fetch_max_response_mb",
    "KPI_FETCH_MAX_BODY_MB": "fetch_max_body_mb",
    "KPI_FETCH_MAX_LANDING_MB": "fetch_max_landing_mb",
    "KPI_LANDING_ARCHIVE_MAX_MB": "landing_archive_max_mb",
}
# never printed (`settings --get` refuses them), never in repr() or an error message
SECRET_VARIABLES = frozenset({"KPI_ALERT_WEBHOOK_URL", "KPI_PG_PASSWORD"})
# the programs deploy/services.sh and `make dev` start from KPI_BIN
DAGSTER_PROGRAMS = ("python", "dagster", "dagster-webserver", "dagster-daemon")


def _path(env: dict[str, str], name: str, default: Path) -> Path:
    raw = env.get(name, "").strip()
    path = Path(raw).expanduser() if raw else default
    if not path.is_absolute():
        path = PROJECT_ROOT / path
    return path.resolve()


def _url(env: dict[str, str], name: str, default: str) -> str:
    url = env.get(name, "").strip() or default
    if not re.match(r"^https?://[^/\s]+", url or ""):
        raise SettingsError(f"{name}={url!r} is not an http(s) URL")
    return url.rstrip("/")


SETTING_KINDS = ("url", "url_list", "text")


@dataclass(frozen=True)
class SourceSetting:
    """An environment variable a source reads. ``orchestration.core.settings`` parses and validates every
    source's settings once, at start, naming the variable in any error.

    kind ``url``: an http(s) URL; ``url_list``: comma-separated http(s) URLs; ``text``: any text.
    ``default`` None: unset unless the environment gives it. The parsed value is read as
    ``settings.<attribute>`` (by default the variable's name without ``KPI_``, in lower case).
    """

    env: str
    kind: str
    default: str | None = None
    description: str = ""
    attribute: str | None = None

    def __post_init__(self):
        if self.kind not in SETTING_KINDS:
            raise ValueError(f"{self.env}: setting kind {self.kind!r} is not one of {SETTING_KINDS}")
        if not re.fullmatch(r"KPI_[A-Z0-9_]+", self.env):
            raise ValueError(f"{self.env!r}: source settings are environment variables named KPI_*")

    @property
    def name(self) -> str:
        return self.attribute or self.env.removeprefix("KPI_").lower()



DONOR_COUNTRY = "USA"


def parse_countries(raw: str) -> tuple[str, ...]:
    codes = tuple(code.strip().upper() for code in raw.split(",") if code.strip())
    if not codes:
        raise SettingsError("KPI_COUNTRIES is empty: give comma-separated ISO3 codes, e.g. HND,GTM")
    known = known_iso3()
    unknown = [code for code in codes if code not in known]
    if unknown:
        raise SettingsError(
            f"KPI_COUNTRIES has codes the warehouse does not know: {', '.join(unknown)} "
            f"(known: {', '.join(sorted(known))}; add a country to dbt_project/seeds/countries.csv)"
        )
    if len(set(codes)) != len(codes):
        raise SettingsError(f"KPI_COUNTRIES lists a country twice: {raw!r}")
    if DONOR_COUNTRY in codes:
        # the seed knows the United States as the donor and destination; no publisher reports it as a
        # country of origin (border encounters, visas, removals of US citizens), so every load would fail
        raise SettingsError(f"KPI_COUNTRIES lists {DONOR_COUNTRY}: the warehouse compares countries of origin with "
                            "Honduras; the United States is the donor and destination in every KPI")
    return codes


@dataclass(frozen=True)
class Settings:
    warehouse_path: Path
    serving_dir: Path
    source_mode: str
    snapshot_dir: Path
    landing_dir: Path
    countries: tuple[str, ...] = DEFAULT_COUNTRIES
    first_year: int = FIRST_YEAR
    last_year: int = field(default_factory=lambda: dt.date.today().year)
    http_timeout_seconds: float = 30.0
    http_retries: int = 4
    http_backoff_factor: float = 1.0
    log_dir: Path = PROJECT_ROOT / "data" / "logs"
    failures_dir: Path = PROJECT_ROOT / "data" / "failures"
    validation_dir: Path = DEFAULT_VALIDATION_DIR
    # a secret (it usually carries a token): never logged, never in repr()
    alert_webhook_url: str | None = field(default=None, repr=False)
    schedule_cron: str = DEFAULT_SCHEDULE_CRON
    schedule_timezone: str = "UTC"
    revision_window_years: int = DEFAULT_REVISION_WINDOW_YEARS
    # the warehouse engine (KPI_WAREHOUSE): the raw loads, dbt's target and what publishing reads
    warehouse: str = "duckdb"
    # how long a second writer waits for the warehouse before it fails, naming the holder
    warehouse_lock_timeout_seconds: float = 1800.0
    postgres: PostgresTarget = field(default_factory=lambda: PostgresTarget.from_env({}))
    # total time for one request (attempts, waits, redirects, body) and for one source's whole fetch
    http_request_deadline_seconds: float = 300.0
    source_fetch_deadline_seconds: float = 900.0
    # the whole fetch phase of a run (every source fetched at once, outside the writer lock)
    fetch_phase_deadline_seconds: float = 600.0
    # raise (never lower) every source's declared FetchLimits, in MiB; None: as declared
    fetch_max_response_mb: float | None = None
    fetch_max_body_mb: float | None = None
    fetch_max_landing_mb: float | None = None
    # the landing archive's disk budget, in MiB: a fetch that would pass it fails
    landing_archive_max_mb: float = 4096.0
    # the settings each source declares in its SPEC (SourceSetting), parsed, as (name, value) pairs
    # (hashable and picklable like every other field); read them as settings.<name>
    source_settings: tuple[tuple[str, object], ...] = ()
    # the Dagster processes the shell starts (`make dev`, deploy/services.sh): where the UI listens, where the
    # webserver and daemon reach the code server, the address the code server binds, and their programs
    dagster_host: str = "127.0.0.1"
    dagster_port: int = 3000
    code_server_host: str = "127.0.0.1"
    code_server_port: int = 4000
    code_server_bind: str = "127.0.0.1"
    bin_dir: Path = PROJECT_ROOT / ".venv" / "bin"

    def __getattr__(self, name: str):
        # called only when no field has the name: a setting one of the sources declares
        for key, value in self.__dict__.get("source_settings", ()):
            if key == name:
                return value
        raise AttributeError(f"Settings has no {name!r} (neither a field nor a setting a source declares)")

    def replace(self, **changes) -> "Settings":
        """A copy with ``changes``: fields by name, and the settings sources declare by theirs."""
        declared = dict(self.source_settings)
        for name in [name for name in changes if name not in _FIELD_NAMES]:
            if name not in declared:
                raise AttributeError(f"Settings has no {name!r} (neither a field nor a setting a source declares)")
            declared[name] = changes.pop(name)
        return dataclasses.replace(self, **changes, source_settings=tuple(sorted(declared.items())))

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, source_settings: Iterable[SourceSetting] = ()) -> "Settings":
        """The settings of ``env`` (the process environment by default): the platform's own and
        ``source_settings``, those the sources declare (``orchestration.config.load_settings`` passes
        every discovered source's)."""
        env = dict(os.environ if env is None else env)
        mode = env.get("KPI_SOURCE_MODE", "replay").strip().lower() or "replay"
        if mode not in SOURCE_MODES:
            raise SettingsError(f"KPI_SOURCE_MODE={mode!r}: use one of {', '.join(SOURCE_MODES)}")
        data_dir = PROJECT_ROOT / "data"
        declared = parse_source_settings(env, source_settings)
        settings = cls(
            warehouse_path=_path(env, "KPI_WAREHOUSE_PATH", data_dir / "warehouse" / "kpi.duckdb"),
            serving_dir=_path(env, "KPI_SERVING_DIR", data_dir / "serving"),
            source_mode=mode,
            snapshot_dir=_path(env, "KPI_SNAPSHOT_DIR", BUNDLED_SNAPSHOT_DIR),
            landing_dir=_path(env, "KPI_LANDING_DIR", data_dir / "landing"),
            countries=parse_countries(env.get("KPI_COUNTRIES", ",".join(DEFAULT_COUNTRIES))),
            http_timeout_seconds=_positive_float(env, "KPI_HTTP_TIMEOUT_SECONDS", 30.0),
            http_retries=_whole_number(env, "KPI_HTTP_RETRIES", 4, maximum=20),
            http_backoff_factor=_positive_float(env, "KPI_HTTP_BACKOFF_FACTOR", 1.0, allow_zero=True),
            log_dir=_path(env, "KPI_LOG_DIR", data_dir / "logs"),
            failures_dir=_path(env, "KPI_FAILURES_DIR", data_dir / "failures"),
            validation_dir=_path(env, "KPI_VALIDATION_DIR", DEFAULT_VALIDATION_DIR),
            alert_webhook_url=_optional_url(env, "KPI_ALERT_WEBHOOK_URL"),
            schedule_cron=_cron(env, "KPI_SCHEDULE_CRON"),
            schedule_timezone=_timezone(env, "KPI_SCHEDULE_TIMEZONE"),
            revision_window_years=_whole_number(env, "KPI_REVISION_WINDOW_YEARS", DEFAULT_REVISION_WINDOW_YEARS,
                                                maximum=100, minimum=1),
            warehouse=_warehouse_engine(env),
            warehouse_lock_timeout_seconds=_positive_float(env, "KPI_WAREHOUSE_LOCK_TIMEOUT_SECONDS", 1800.0, allow_zero=True),
            postgres=PostgresTarget.from_env(env),
            http_request_deadline_seconds=_positive_float(env, "KPI_HTTP_REQUEST_DEADLINE_SECONDS", 300.0),
            source_fetch_deadline_seconds=_positive_float(env, "KPI_SOURCE_FETCH_DEADLINE_SECONDS", 900.0),
            fetch_phase_deadline_seconds=_positive_float(env, "KPI_FETCH_PHASE_DEADLINE_SECONDS", 600.0),
            fetch_max_response_mb=_optional_positive_float(env, "KPI_FETCH_MAX_RESPONSE_MB"),
            fetch_max_body_mb=_optional_positive_float(env, "KPI_FETCH_MAX_BODY_MB"),
            fetch_max_landing_mb=_optional_positive_float(env, "KPI_FETCH_MAX_LANDING_MB"),
            landing_archive_max_mb=_positive_float(env, "KPI_LANDING_ARCHIVE_MAX_MB", 4096.0),
            source_settings=tuple(sorted(declared.items())),
            dagster_host=_host(env, "KPI_DAGSTER_HOST", "127.0.0.1"),
            dagster_port=_port(env, "KPI_DAGSTER_PORT", 3000),
            code_server_host=_host(env, "KPI_CODE_SERVER_HOST", "127.0.0.1"),
            code_server_port=_port(env, "KPI_CODE_SERVER_PORT", 4000),
            code_server_bind=_host(env, "KPI_CODE_SERVER_BIND", "127.0.0.1"),
            bin_dir=_bin_dir(env),
        )
        _check_paths(settings)
        _check_deadlines(settings)
        _check_publication_schema(settings)
        if settings.source_mode == "replay" and not settings.snapshot_dir.is_dir():
            raise SettingsError(f"KPI_SNAPSHOT_DIR={str(settings.snapshot_dir)!r} is not a directory: replay mode reads "
                                "the publishers' files from there (the bundled snapshot is the default)")
        return settings

    @property
    def dbt_target(self) -> str:
        """dbt's target: the warehouse engine (profiles.yml has an output of each one's name)."""
        return self.warehouse

    def dbt_env(self) -> dict[str, str]:
        """Environment for dbt, so profiles.yml points at this warehouse and target (the password
        too: this goes to dbt only, never to a log)."""
        pg = self.postgres
        return {"KPI_WAREHOUSE_PATH": str(self.warehouse_path), "KPI_DBT_TARGET": self.dbt_target,
                "KPI_PG_HOST": pg.host, "KPI_PG_PORT": str(pg.port), "KPI_PG_USER": pg.user,
                "KPI_PG_DATABASE": pg.database, "KPI_PG_PASSWORD": pg.password}


_FIELD_NAMES = frozenset(item.name for item in fields(Settings))


def variable_value(settings: Settings, name: str, source_settings: Iterable[SourceSetting] = ()) -> str:
    """The validated value of the variable ``name`` as text a shell can use (lists comma-separated, flags 1/0,
    unset optional values empty). Secrets are refused: they are passed to the programs that use them, never printed."""
    if name in SECRET_VARIABLES:
        raise SettingsError(f"{name} is a secret: it is never printed")
    declared = {setting.env: setting.name for setting in source_settings}
    if name in PLATFORM_VARIABLES:
        value: object = settings
        for attribute in PLATFORM_VARIABLES[name].split("."):
            value = getattr(value, attribute)
    elif name in declared:
        value = getattr(settings, declared[name])
    else:
        raise SettingsError(f"{name} is not a setting of the warehouse (see `python -m orchestration.cli --help`)")
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (tuple, list)):
        return ",".join(str(item) for item in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def parse_source_setting(env: dict[str, str], setting: SourceSetting):
    """One declared source setting's value: a URL (or None when unset and without default), a tuple
    of URLs, or text; a bad value raises a SettingsError naming the variable."""
    raw = env.get(setting.env, "").strip()
    if setting.kind == "url":
        return _url(env, setting.env, setting.default) if raw or setting.default else None
    if setting.kind == "url_list":
        items = [item.strip() for item in (raw or setting.default or "").split(",") if item.strip()]
        return tuple(_url({setting.env: item}, setting.env, "") for item in items)
    return raw or setting.default


def parse_source_settings(env: dict[str, str], declared: Iterable[SourceSetting]) -> dict[str, object]:
    """Every declared source setting, parsed and validated; two declarations of one name are an error."""
    values: dict[str, object] = {}
    for setting in declared:
        if setting.name in values:
            raise SettingsError(f"{setting.env} is declared twice (by two sources, or twice by one)")
        values[setting.name] = parse_source_setting(env, setting)
    return values


def _positive_float(env: dict[str, str], name: str, default: float, allow_zero: bool = False) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a number") from None
    if value < 0 or (value == 0 and not allow_zero):
        raise SettingsError(f"{name}={raw!r} must be {'>= 0' if allow_zero else '> 0'}")
    return value


def _optional_positive_float(env: dict[str, str], name: str) -> float | None:
    return _positive_float(env, name, 0.0) if env.get(name, "").strip() else None


def _whole_number(env: dict[str, str], name: str, default: int, maximum: int, minimum: int = 0) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not minimum <= int(raw) <= maximum:
        raise SettingsError(f"{name}={raw!r} must be a whole number from {minimum} to {maximum}")
    return int(raw)


# a host name (RFC 1123 labels), an IPv4 address or an IPv6 address: what Dagster's -h and gRPC accept, and
# nothing a shell could read as an option or a second word
_HOST = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*")


def _host(env: dict[str, str], name: str, default: str) -> str:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not _HOST.fullmatch(raw) or len(raw) > 253:
        raise SettingsError(f"{name}={raw!r} is not a host name or IP address (e.g. 127.0.0.1, 0.0.0.0, code.example.org)")
    return raw


def _port(env: dict[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= 65535:
        raise SettingsError(f"{name}={raw!r} is not a TCP port (1-65535)")
    return int(raw)


def _bin_dir(env: dict[str, str]) -> Path:
    """KPI_BIN: the directory of the Dagster programs (default the project's .venv/bin). Checked when given:
    the default is made by `make setup`, which every target using it runs first."""
    path = _path(env, "KPI_BIN", PROJECT_ROOT / ".venv" / "bin")
    if env.get("KPI_BIN", "").strip():
        missing = [program for program in DAGSTER_PROGRAMS if not (path / program).is_file()]
        if missing:
            raise SettingsError(f"KPI_BIN={str(path)!r} does not hold the Dagster programs (missing: {', '.join(missing)}): "
                                "give the bin directory of a virtualenv made by `make setup`")
    return path


def _choice(env: dict[str, str], name: str, choices: tuple[str, ...]) -> str:
    raw = env.get(name, "").strip().lower() or choices[0]
    if raw not in choices:
        raise SettingsError(f"{name}={raw!r}: use one of {', '.join(choices)}")
    return raw


def _warehouse_engine(env: dict[str, str]) -> str:
    """KPI_WAREHOUSE. KPI_DBT_TARGET, its name when only dbt followed it, is read when KPI_WAREHOUSE
    is unset; otherwise it is dbt's own variable, which the dbt step sets from KPI_WAREHOUSE."""
    if env.get("KPI_WAREHOUSE", "").strip() or not env.get("KPI_DBT_TARGET", "").strip():
        return _choice(env, "KPI_WAREHOUSE", WAREHOUSE_ENGINES)
    return _choice(env, "KPI_DBT_TARGET", DBT_TARGETS)


def _check_publication_schema(settings: "Settings") -> None:
    pg = settings.postgres
    if (settings.warehouse == "postgres" and pg.publish and pg.publishing().database == pg.database
            and pg.publish_schema in WAREHOUSE_SCHEMAS):
        raise SettingsError(
            f"KPI_PG_PUBLISH_SCHEMA={pg.publish_schema!r} in the warehouse database {pg.database!r} is a schema the "
            "pipeline builds: publish to another database (KPI_PG_PUBLISH_DATABASE, e.g. kpi_serving) or schema")


def _optional_url(env: dict[str, str], name: str) -> str | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    if not re.match(r"^https?://[^/\s]+", raw):
        # the value is a secret: say what is wrong without echoing it
        raise SettingsError(f"{name} is set but is not an http(s) URL")
    return raw


def _timezone(env: dict[str, str], name: str) -> str:
    import zoneinfo

    raw = env.get(name, "").strip() or "UTC"
    try:
        zoneinfo.ZoneInfo(raw)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"{name}={raw!r} is not an IANA time zone (e.g. UTC, America/Tegucigalpa)") from None
    return raw


def cron_problem(cron: str) -> str | None:
    """Why ``cron`` is not a schedule Dagster accepts, or None. Dagster's own ScheduleDefinition
    validates it, so what passes here is exactly what the schedule takes."""
    import dagster as dg

    try:
        dg.ScheduleDefinition(name="settings_probe", cron_schedule=cron, job_name="settings_probe")
    except (dg.DagsterInvalidDefinitionError, ValueError, TypeError) as exc:
        return str(exc).split("\n")[0]
    return None


def _cron(env: dict[str, str], name: str) -> str:
    raw = " ".join(env.get(name, "").split()) or DEFAULT_SCHEDULE_CRON
    if raw == DEFAULT_SCHEDULE_CRON:
        return raw
    problem = cron_problem(raw)
    if problem:
        raise SettingsError(f"{name}={raw!r} is not a cron schedule (five fields, e.g. '0 6 * * *'): {problem}")
    return raw


def _inside(path: Path, directory: Path) -> bool:
    return path == directory or directory in path.parents


def _check_paths(settings: "Settings") -> None:
    """The directories must not overlap in ways that would let one step read or clobber another's
    files: BI tools open the serving directory only, and the landing archive holds publishers' bytes."""
    warehouse, serving, landing = settings.warehouse_path, settings.serving_dir, settings.landing_dir
    if warehouse.is_dir():
        raise SettingsError(f"KPI_WAREHOUSE_PATH={str(warehouse)!r} is a directory: give the DuckDB file's path")
    if serving == warehouse.parent or _inside(warehouse, serving):
        raise SettingsError(
            "KPI_SERVING_DIR must not be the warehouse's own directory or contain the warehouse: BI tools "
            "would open the file the pipeline writes"
        )
    for name, path in (("KPI_WAREHOUSE_PATH", warehouse), ("KPI_SERVING_DIR", serving)):
        if _inside(path, landing):
            raise SettingsError(f"{name}={str(path)!r} is inside KPI_LANDING_DIR={str(landing)!r}: the landing archive holds only publishers' files")
        if _inside(path, settings.snapshot_dir):
            raise SettingsError(f"{name}={str(path)!r} is inside KPI_SNAPSHOT_DIR={str(settings.snapshot_dir)!r}: the snapshot is read-only input")
    if _inside(settings.validation_dir, EXPECTATIONS_DIR):
        raise SettingsError(f"KPI_VALIDATION_DIR={str(settings.validation_dir)!r} is inside the GX project {str(EXPECTATIONS_DIR)!r}: "
                            "validation results and Data Docs are generated files and must stay out of git")
    if _inside(landing, serving):
        raise SettingsError(f"KPI_LANDING_DIR={str(landing)!r} is inside KPI_SERVING_DIR: BI tools would see raw publisher files")
    if settings.source_mode == "live" and _inside(landing, settings.snapshot_dir):
        raise SettingsError(f"KPI_LANDING_DIR={str(landing)!r} is inside KPI_SNAPSHOT_DIR: live fetches would change the replay snapshot")


def _check_deadlines(settings: "Settings") -> None:
    """A request must be able to outlast one read timeout, and fit in its source's fetch."""
    request, fetch = settings.http_request_deadline_seconds, settings.source_fetch_deadline_seconds
    if request < settings.http_timeout_seconds:
        raise SettingsError(
            f"KPI_HTTP_REQUEST_DEADLINE_SECONDS={request:g} is shorter than KPI_HTTP_TIMEOUT_SECONDS={settings.http_timeout_seconds:g}: "
            "a request's total deadline must allow at least one read timeout"
        )
    if fetch < request:
        raise SettingsError(
            f"KPI_SOURCE_FETCH_DEADLINE_SECONDS={fetch:g} is shorter than KPI_HTTP_REQUEST_DEADLINE_SECONDS={request:g}: "
            "a source's fetch deadline must allow at least one whole request"
        )
