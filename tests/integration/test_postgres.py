"""The PostgreSQL target: the same dbt project builds the same marts; publishing to it is a setting.

A throwaway PostgreSQL 15 cluster (tests/pg.py) gets the raw tables of a replay build, then
``dbt build --target postgres`` runs the real project on it; every kpi_annual value must equal the
DuckDB build's.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import duckdb
import pytest

from orchestration.postgres import PostgresTarget, replace_schema
from orchestration.publish import SERVING_FILE, publish
from orchestration.settings import DBT_PROJECT_DIR, Settings
from tests.pg import start_cluster

pytestmark = pytest.mark.integration

KPI_ANNUAL_KEY = ("country_iso3", "kpi_id", "year")
SERVING_DATABASE = "kpi_serving"


@pytest.fixture(scope="module")
def cluster():
    cluster = start_cluster()
    try:
        conn = cluster.connect()
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE {SERVING_DATABASE}")
        conn.close()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def postgres_build(cluster, built_warehouse, tmp_path_factory):
    """Raw tables of the replay build copied into PostgreSQL, then the real dbt build on it."""
    root, env, _ = built_warehouse
    target = PostgresTarget.from_env(cluster.env())
    loaded = replace_schema(target, root / "warehouse" / "kpi.duckdb", "raw", "raw")
    work = tmp_path_factory.mktemp("dbt-postgres")
    dbt_env = {**os.environ, **cluster.env(), "KPI_DBT_TARGET": "postgres", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    result = subprocess.run(
        [str(os.path.join(os.path.dirname(sys.executable), "dbt")), "build", "--project-dir", str(DBT_PROJECT_DIR),
         "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", str(work / "target"), "--log-path", str(work / "logs")],
        cwd=DBT_PROJECT_DIR, env=dbt_env, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout[-8000:]
    return root, env, loaded, result.stdout


def test_dbt_builds_the_same_kpi_annual_on_postgres(cluster, postgres_build):
    root, _, loaded, stdout = postgres_build
    assert loaded["worldbank_indicator_values"] > 0
    assert "ERROR=0" in stdout and "SKIP=0" in stdout
    columns = ("country_iso3", "kpi_id", "year", "value", "unit", "yoy_change", "yoy_change_pct", "source_id", "source_vintage")
    select = f"select {', '.join(columns)} from marts.kpi_annual"
    with duckdb.connect(str(root / "warehouse" / "kpi.duckdb"), read_only=True) as conn:
        duck = {row[:3]: row for row in conn.execute(select).fetchall()}
    pg_conn = cluster.connect()
    try:
        with pg_conn.cursor() as cur:
            cur.execute(select)
            pg = {row[:3]: row for row in cur.fetchall()}
    finally:
        pg_conn.close()
    assert len(duck) > 1000
    assert set(pg) == set(duck)
    mismatches = []
    for key, duck_row in duck.items():
        for name, a, b in zip(columns, duck_row, pg[key]):
            if isinstance(a, float) or isinstance(b, float):
                same = (a is None and b is None) or (a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9))
            else:
                same = a == b
            if not same:
                mismatches.append((key, name, a, b))
    assert mismatches == []


def test_publishing_to_postgres_is_a_setting(cluster, postgres_build, tmp_path):
    root, env, _, _ = postgres_build
    pg_env = {**cluster.env(), "KPI_PG_DATABASE": SERVING_DATABASE}
    off = PostgresTarget.from_env(pg_env)
    assert not off.publish
    on = PostgresTarget.from_env({**pg_env, "KPI_PUBLISH_POSTGRES": "1"})
    settings = Settings.from_env({**env, "KPI_SERVING_DIR": str(tmp_path / "serving")})

    publish(settings, postgres=off)
    conn = cluster.connect(SERVING_DATABASE)
    try:
        with conn.cursor() as cur:
            cur.execute("select count(*) from information_schema.schemata where schema_name = 'marts'")
            assert cur.fetchone()[0] == 0
        conn.commit()

        records = [publish(settings, postgres=on) for _ in range(2)]  # the second replaces the first
        with conn.cursor() as cur:
            cur.execute("select publication_id from marts.publication")
            assert cur.fetchall() == [(records[-1]["publication_id"],)]
            cur.execute("select table_name from information_schema.tables where table_schema = 'marts'")
            tables = {r[0] for r in cur.fetchall()}
            cur.execute("select count(*), sum(value) from marts.kpi_annual")
            pg_count, pg_sum = cur.fetchone()
            cur.execute("select schema_name from information_schema.schemata where schema_name like 'marts%'")
            schemas = [r[0] for r in cur.fetchall()]
        conn.commit()
    finally:
        conn.close()
    assert schemas == ["marts"]
    assert tables == set(records[-1]["row_counts"]) | {"publication"}
    with duckdb.connect(str(settings.serving_dir / SERVING_FILE), read_only=True) as duck:
        count, total = duck.execute("select count(*), sum(value) from marts.kpi_annual").fetchone()
    assert pg_count == count and pg_sum == pytest.approx(total, rel=1e-12)
    record_text = json.dumps(records[-1]) + (settings.serving_dir / "publication.json").read_text()
    assert records[-1]["postgres"]["target"] == f"postgresql://kpi@127.0.0.1:{cluster.port}/{SERVING_DATABASE}"
    assert cluster.password not in record_text
    assert cluster.password not in repr(on)


def test_a_failed_postgres_publish_swaps_nothing(cluster, postgres_build, tmp_path):
    root, env, _, _ = postgres_build
    settings = Settings.from_env({**env, "KPI_SERVING_DIR": str(tmp_path / "serving")})
    first = publish(settings)
    wrong = PostgresTarget.from_env({**cluster.env(), "KPI_PG_PASSWORD": "not-the-password", "KPI_PUBLISH_POSTGRES": "1"})
    with pytest.raises(Exception) as failure:
        publish(settings, postgres=wrong)
    assert "password authentication failed" in str(failure.value)
    assert "not-the-password" not in str(failure.value)
    with duckdb.connect(str(settings.serving_dir / SERVING_FILE), read_only=True) as duck:
        assert duck.execute("select publication_id from marts.publication").fetchone()[0] == first["publication_id"]
    assert [p.name for p in (settings.serving_dir / "releases").iterdir()] == [first["publication_id"]]
