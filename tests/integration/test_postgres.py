"""Publishing to PostgreSQL is a setting (KPI_PUBLISH_POSTGRES), whatever the warehouse engine.

A throwaway PostgreSQL 15 cluster (tests/pg.py) receives the publications of the shared DuckDB
build. The PostgreSQL warehouse engine itself (loads, dbt, publishing from it) is tested by
test_postgres_deployment.py.
"""

from __future__ import annotations

import json

import duckdb
import pytest

from orchestration.config import load_settings
from orchestration.core.postgres import PostgresTarget
from orchestration.publish.publication import SERVING_FILE, publish
from tests.pg import running_cluster

pytestmark = pytest.mark.integration

SERVING_DATABASE = "kpi_serving"


@pytest.fixture(scope="module")
def cluster():
    with running_cluster(SERVING_DATABASE) as cluster:
        yield cluster


def test_publishing_to_postgres_is_a_setting(cluster, built_warehouse, tmp_path):
    root, env, _ = built_warehouse
    pg_env = {**cluster.env(), "KPI_PG_DATABASE": SERVING_DATABASE}
    off = PostgresTarget.from_env(pg_env)
    assert not off.publish
    on = PostgresTarget.from_env({**pg_env, "KPI_PUBLISH_POSTGRES": "1"})
    settings = load_settings({**env, "KPI_SERVING_DIR": str(tmp_path / "serving")})

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


def test_a_failed_postgres_publish_swaps_nothing(cluster, built_warehouse, tmp_path):
    root, env, _ = built_warehouse
    settings = load_settings({**env, "KPI_SERVING_DIR": str(tmp_path / "serving")})
    first = publish(settings)
    wrong = PostgresTarget.from_env({**cluster.env(), "KPI_PG_PASSWORD": "not-the-password", "KPI_PUBLISH_POSTGRES": "1"})
    with pytest.raises(Exception) as failure:
        publish(settings, postgres=wrong)
    assert "password authentication failed" in str(failure.value)
    assert "not-the-password" not in str(failure.value)
    with duckdb.connect(str(settings.serving_dir / SERVING_FILE), read_only=True) as duck:
        assert duck.execute("select publication_id from marts.publication").fetchone()[0] == first["publication_id"]
    assert [p.name for p in (settings.serving_dir / "releases").iterdir()] == [first["publication_id"]]
