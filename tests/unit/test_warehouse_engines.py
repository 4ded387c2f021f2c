"""The pure parts of the two warehouse engines: shared SQL, type mappings, the executor's choice."""

from __future__ import annotations

import pytest

from orchestration.platform.executor import uses_multiprocess
from orchestration.core.postgres import duckdb_type, postgres_type
from orchestration.core.sql import pyformat
from orchestration.load.warehouse import LEDGER_INSERT_SQL, RawLoad, delete_replaced_sql, history_sql


def test_one_sql_text_serves_both_drivers():
    assert pyformat("SELECT ? AS a, ? AS b") == "SELECT %s AS a, %s AS b"
    assert pyformat(LEDGER_INSERT_SQL).count("%s") == LEDGER_INSERT_SQL.count("?") == 9
    with pytest.raises(ValueError):
        pyformat("SELECT * FROM t WHERE name LIKE 'a%'")


def test_the_rows_a_load_replaces_are_its_keys_within_its_years():
    import pandas as pd

    load = RawLoad("worldbank_indicator_values", pd.DataFrame(), ("country_iso3", "indicator_id"), "year")
    assert delete_replaced_sql(load, "incoming") == (
        'DELETE FROM raw."worldbank_indicator_values" WHERE ("country_iso3", "indicator_id") IN '
        '(SELECT DISTINCT "country_iso3", "indicator_id" FROM "incoming") AND "year" BETWEEN ? AND ?')
    whole = RawLoad("t", pd.DataFrame(), (), None)
    assert delete_replaced_sql(whole, "incoming") == 'DELETE FROM raw."t" WHERE TRUE'
    with pytest.raises(ValueError):
        delete_replaced_sql(RawLoad("t", pd.DataFrame(), ("a; drop",), None), "incoming")
    assert history_sql("t", ["value"], ["country_iso3"], "keys") == (
        'SELECT history."value", history."loaded_at" FROM raw."t" AS history '
        'WHERE (history."country_iso3") IN (SELECT "country_iso3" FROM "keys")')


@pytest.mark.parametrize("duck", ["VARCHAR", "BIGINT", "INTEGER", "DOUBLE", "BOOLEAN", "DATE", "TIMESTAMP", "DECIMAL(18,3)"])
def test_column_types_survive_the_round_trip_between_engines(duck):
    assert duckdb_type(postgres_type(duck)) == duck


def test_a_raw_column_without_any_value_yet_is_text_on_postgres():
    from orchestration.load.postgres_warehouse import raw_column_type

    assert raw_column_type('"NULL"') == "text" and raw_column_type("BIGINT") == "bigint"


def test_types_without_an_exact_duckdb_twin_are_refused():
    assert duckdb_type("character varying(20)") == "VARCHAR"
    with pytest.raises(ValueError, match="numeric"):
        duckdb_type("numeric")  # unconstrained: no DuckDB type holds every value


def test_steps_run_in_parallel_only_where_the_engine_allows_concurrent_writers():
    assert uses_multiprocess(concurrent_writers=True, ephemeral_instance=False)
    assert not uses_multiprocess(concurrent_writers=False, ephemeral_instance=False)  # DuckDB: one process
    assert not uses_multiprocess(concurrent_writers=True, ephemeral_instance=True)  # no shared event log
