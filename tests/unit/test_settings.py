from __future__ import annotations

import re

import pytest

from orchestration.config import load_settings
from orchestration.core.errors import SettingsError
from orchestration.core.settings import PROJECT_ROOT


def test_defaults_work_from_a_fresh_clone():
    settings = load_settings({})
    assert settings.source_mode == "replay"
    assert settings.countries == ("HND", "GTM", "SLV", "NIC", "MEX")
    assert settings.snapshot_dir == PROJECT_ROOT / "snapshot"
    assert settings.warehouse_path.is_relative_to(PROJECT_ROOT / "data")
    assert settings.serving_dir != settings.warehouse_path.parent


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"KPI_COUNTRIES": "HND,XXX"}, "codes the warehouse does not know: XXX"),
        ({"KPI_COUNTRIES": "HND;GTM"}, "does not know: HND;GTM"),
        ({"KPI_COUNTRIES": " , "}, "KPI_COUNTRIES is empty"),
        ({"KPI_COUNTRIES": "HND,HND"}, "lists a country twice"),
        ({"KPI_COUNTRIES": "HND,USA"}, "lists USA: the warehouse compares countries of origin"),
        ({"KPI_SOURCE_MODE": "offline"}, "KPI_SOURCE_MODE='offline'"),
        ({"KPI_WORLDBANK_BASE_URL": "ftp://x"}, "KPI_WORLDBANK_BASE_URL='ftp://x' is not an http"),
        ({"KPI_HTTP_TIMEOUT_SECONDS": "soon"}, "is not a number"),
        ({"KPI_HTTP_TIMEOUT_SECONDS": "0"}, "must be > 0"),
    ],
)
def test_bad_settings_are_named(env, message):
    with pytest.raises(SettingsError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_settings(env)


def test_countries_are_normalised():
    assert load_settings({"KPI_COUNTRIES": " hnd , gtm "}).countries == ("HND", "GTM")


def test_relative_paths_are_from_the_project_root():
    assert load_settings({"KPI_SERVING_DIR": "elsewhere/serving"}).serving_dir == PROJECT_ROOT / "elsewhere" / "serving"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"KPI_HTTP_RETRIES": "2.5"}, "KPI_HTTP_RETRIES='2.5' must be a whole number"),
        ({"KPI_HTTP_RETRIES": "-1"}, "KPI_HTTP_RETRIES='-1' must be a whole number"),
        ({"KPI_HTTP_RETRIES": "1000"}, "from 0 to 20"),
        ({"KPI_HTTP_BACKOFF_FACTOR": "-1"}, "KPI_HTTP_BACKOFF_FACTOR='-1' must be >= 0"),
        ({"KPI_CBP_BASE_URL": "file:///etc"}, "KPI_CBP_BASE_URL='file:///etc' is not an http"),
        ({"KPI_FOREIGN_ASSISTANCE_BASE_URL": "javascript:alert(1)"}, "is not an http"),
    ],
)
def test_bad_http_settings_are_named(env, message):
    with pytest.raises(SettingsError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_settings(env)


@pytest.mark.parametrize(
    ("paths", "message"),
    [
        ({"KPI_WAREHOUSE_PATH": "w/kpi.duckdb", "KPI_SERVING_DIR": "w"}, "KPI_SERVING_DIR must not be the warehouse's own directory"),
        ({"KPI_WAREHOUSE_PATH": "s/inner/kpi.duckdb", "KPI_SERVING_DIR": "s"}, "or contain the warehouse"),
        ({"KPI_SERVING_DIR": "l/serving", "KPI_LANDING_DIR": "l"}, "KPI_SERVING_DIR=.* is inside KPI_LANDING_DIR"),
        ({"KPI_WAREHOUSE_PATH": "l/kpi.duckdb", "KPI_LANDING_DIR": "l"}, "KPI_WAREHOUSE_PATH=.* is inside KPI_LANDING_DIR"),
        ({"KPI_LANDING_DIR": "s/landing", "KPI_SERVING_DIR": "s"}, "KPI_LANDING_DIR=.* is inside KPI_SERVING_DIR"),
        ({"KPI_SERVING_DIR": "snap/out", "KPI_SNAPSHOT_DIR": "snap"}, "is inside KPI_SNAPSHOT_DIR"),
        ({"KPI_SOURCE_MODE": "live", "KPI_LANDING_DIR": "snap/l", "KPI_SNAPSHOT_DIR": "snap"}, "live fetches would change the replay snapshot"),
        ({"KPI_WAREHOUSE_PATH": "."}, "is a directory"),
    ],
)
def test_overlapping_paths_are_refused(tmp_path, paths, message):
    env = {"KPI_WAREHOUSE_PATH": "wh/kpi.duckdb", "KPI_SERVING_DIR": "serving", "KPI_LANDING_DIR": "landing",
           "KPI_SNAPSHOT_DIR": "snapshot", **paths}
    env = {name: str(tmp_path / value) for name, value in env.items() if name.endswith(("_PATH", "_DIR"))} | {
        name: value for name, value in env.items() if not name.endswith(("_PATH", "_DIR"))}
    with pytest.raises(SettingsError, match=message):
        load_settings(env)


def test_replay_may_read_the_landing_archive_as_its_snapshot(tmp_path):
    """Re-parsing earlier live fetches: the snapshot dir may be the landing dir when nothing is fetched."""
    (tmp_path / "landing").mkdir()
    settings = load_settings({"KPI_SNAPSHOT_DIR": str(tmp_path / "landing"), "KPI_LANDING_DIR": str(tmp_path / "landing"),
                                  "KPI_WAREHOUSE_PATH": str(tmp_path / "wh" / "kpi.duckdb"), "KPI_SERVING_DIR": str(tmp_path / "serving")})
    assert settings.snapshot_dir == settings.landing_dir


def test_log_dir_is_a_setting(tmp_path):
    assert load_settings({"KPI_LOG_DIR": str(tmp_path / "logs")}).log_dir == tmp_path / "logs"
    assert load_settings({}).log_dir == PROJECT_ROOT / "data" / "logs"


def test_countries_cannot_smuggle_sql_or_paths():
    for raw in ("HND'; DROP TABLE raw.x; --", "../HND", "HND OR 1=1"):
        with pytest.raises(SettingsError, match="KPI_COUNTRIES"):
            load_settings({"KPI_COUNTRIES": raw})


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"KPI_SCHEDULE_CRON": "bogus"}, "KPI_SCHEDULE_CRON='bogus' is not a cron schedule"),
        ({"KPI_SCHEDULE_CRON": "0 25 * * *"}, "KPI_SCHEDULE_CRON='0 25 * * *' is not a cron schedule"),
        ({"KPI_SCHEDULE_TIMEZONE": "Mars/Olympus"}, "KPI_SCHEDULE_TIMEZONE='Mars/Olympus' is not an IANA time zone"),
        ({"KPI_REVISION_WINDOW_YEARS": "abc"}, "KPI_REVISION_WINDOW_YEARS='abc' must be a whole number from 1"),
        ({"KPI_REVISION_WINDOW_YEARS": "0"}, "KPI_REVISION_WINDOW_YEARS='0' must be a whole number from 1"),
        ({"KPI_WAREHOUSE": "snowflake"}, "KPI_WAREHOUSE='snowflake': use one of duckdb, postgres"),
        ({"KPI_DBT_TARGET": "snowflake"}, "KPI_DBT_TARGET='snowflake': use one of duckdb, postgres"),
        ({"KPI_WAREHOUSE": "postgres", "KPI_PUBLISH_POSTGRES": "1"}, "KPI_PG_PUBLISH_SCHEMA='marts' in the warehouse database"),
        ({"KPI_PG_READER_ROLES": "bi, drop table"}, "KPI_PG_READER_ROLES='drop table' is not a plain lower-case identifier"),
        ({"KPI_SNAPSHOT_DIR": "/nonexistent/snapshot"}, "KPI_SNAPSHOT_DIR='/nonexistent/snapshot' is not a directory"),
        ({"KPI_WAREHOUSE_LOCK_TIMEOUT_SECONDS": "forever"}, "KPI_WAREHOUSE_LOCK_TIMEOUT_SECONDS='forever' is not a number"),
        ({"KPI_PG_PORT": "99999"}, "KPI_PG_PORT='99999' is not a TCP port"),
        ({"KPI_PUBLISH_POSTGRES": "maybe"}, "KPI_PUBLISH_POSTGRES='maybe'"),
    ],
)
def test_every_setting_is_validated_at_start_with_its_name(env, message):
    with pytest.raises(SettingsError, match=re.escape(message)):
        load_settings(env)


def test_operational_settings_have_working_defaults_and_are_read_once():
    settings = load_settings({"KPI_SCHEDULE_CRON": "30  5 * * 1-5", "KPI_SCHEDULE_TIMEZONE": "America/Tegucigalpa",
                                  "KPI_REVISION_WINDOW_YEARS": "5", "KPI_WAREHOUSE": "POSTGRES",
                                  "KPI_FAILURES_DIR": "elsewhere/failures"})
    assert (settings.schedule_cron, settings.schedule_timezone) == ("30 5 * * 1-5", "America/Tegucigalpa")
    assert (settings.revision_window_years, settings.dbt_target) == (5, "postgres")
    assert settings.failures_dir == PROJECT_ROOT / "elsewhere" / "failures"
    defaults = load_settings({})
    assert (defaults.schedule_cron, defaults.schedule_timezone, defaults.revision_window_years) == ("0 6 * * *", "UTC", 3)
    assert defaults.dbt_target == "duckdb" and defaults.alert_webhook_url is None


def test_the_webhook_url_is_a_secret_kept_out_of_repr_and_errors():
    secret = "https://hooks.example/T0KEN-" + "x" * 8
    settings = load_settings({"KPI_ALERT_WEBHOOK_URL": secret})
    assert settings.alert_webhook_url == secret and secret not in repr(settings)
    with pytest.raises(SettingsError) as raised:
        load_settings({"KPI_ALERT_WEBHOOK_URL": "not a url T0KEN"})
    assert "T0KEN" not in str(raised.value) and "KPI_ALERT_WEBHOOK_URL" in str(raised.value)


# The test that no other module reads the environment parses the code: tests/unit/test_settings_in_one_place.py


def test_deadlines_have_defaults_and_are_settings():
    defaults = load_settings({})
    assert (defaults.http_request_deadline_seconds, defaults.source_fetch_deadline_seconds) == (300.0, 900.0)
    chosen = load_settings({"KPI_HTTP_REQUEST_DEADLINE_SECONDS": "45", "KPI_SOURCE_FETCH_DEADLINE_SECONDS": "120.5"})
    assert (chosen.http_request_deadline_seconds, chosen.source_fetch_deadline_seconds) == (45.0, 120.5)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"KPI_HTTP_REQUEST_DEADLINE_SECONDS": "soon"}, "KPI_HTTP_REQUEST_DEADLINE_SECONDS='soon' is not a number"),
        ({"KPI_HTTP_REQUEST_DEADLINE_SECONDS": "0"}, "KPI_HTTP_REQUEST_DEADLINE_SECONDS='0' must be > 0"),
        ({"KPI_SOURCE_FETCH_DEADLINE_SECONDS": "-5"}, "KPI_SOURCE_FETCH_DEADLINE_SECONDS='-5' must be > 0"),
        ({"KPI_HTTP_REQUEST_DEADLINE_SECONDS": "10"}, "KPI_HTTP_REQUEST_DEADLINE_SECONDS=10 is shorter than KPI_HTTP_TIMEOUT_SECONDS=30"),
        ({"KPI_SOURCE_FETCH_DEADLINE_SECONDS": "60"}, "KPI_SOURCE_FETCH_DEADLINE_SECONDS=60 is shorter than KPI_HTTP_REQUEST_DEADLINE_SECONDS=300"),
    ],
)
def test_bad_deadlines_are_named(env, message):
    with pytest.raises(SettingsError, match=message):
        load_settings(env)


def test_one_setting_selects_the_warehouse_engine_of_the_whole_pipeline():
    from orchestration.load.engines import warehouse_for
    from orchestration.load.warehouse import DuckDBWarehouse
    from orchestration.load.postgres_warehouse import PostgresWarehouse

    duck = load_settings({})
    assert (duck.warehouse, duck.dbt_target) == ("duckdb", "duckdb")
    assert isinstance(warehouse_for(duck), DuckDBWarehouse) and not warehouse_for(duck).concurrent_writers
    pg = load_settings({"KPI_WAREHOUSE": "postgres", "KPI_PG_PASSWORD": "s3cret", "KPI_PUBLISH_POSTGRES": "1",
                            "KPI_PG_PUBLISH_DATABASE": "kpi_serving", "KPI_PG_READER_ROLES": "bi_reader, analyst"})
    assert (pg.warehouse, pg.dbt_target) == ("postgres", "postgres")
    assert isinstance(warehouse_for(pg), PostgresWarehouse) and warehouse_for(pg).concurrent_writers
    assert pg.postgres.reader_roles == ("bi_reader", "analyst")
    assert pg.postgres.publishing().describe() == "postgresql://kpi@127.0.0.1:5432/kpi_serving"
    assert pg.dbt_env()["KPI_DBT_TARGET"] == "postgres" and "s3cret" not in repr(pg)
    # the name the setting had before (a dbt target only) still selects the engine when alone
    assert load_settings({"KPI_DBT_TARGET": "postgres"}).warehouse == "postgres"
    # beside KPI_WAREHOUSE it is dbt's own variable (the dbt step sets it in its process): ignored
    assert load_settings({"KPI_WAREHOUSE": "postgres", "KPI_DBT_TARGET": "duckdb"}).warehouse == "postgres"
    # a publication in another schema of the warehouse database is fine
    assert load_settings({"KPI_WAREHOUSE": "postgres", "KPI_PUBLISH_POSTGRES": "1",
                              "KPI_PG_PUBLISH_SCHEMA": "bi"}).postgres.publish_schema == "bi"
