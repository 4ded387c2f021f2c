"""PostgreSQL: the dbt project's second target, and an optional publication target for BI tools.

Settings (environment; the same variables dbt_project/profiles.yml reads for its ``postgres`` target):
``KPI_PG_HOST`` (127.0.0.1), ``KPI_PG_PORT`` (5432), ``KPI_PG_USER`` (kpi), ``KPI_PG_PASSWORD``,
``KPI_PG_DATABASE`` (kpi_warehouse); ``KPI_PUBLISH_POSTGRES=1`` makes every publication also replace
the schema ``KPI_PG_PUBLISH_SCHEMA`` (default ``marts``) in that database, in one transaction.
The password is passed to the driver only: it is never logged, and ``describe()`` leaves it out.

Tables are moved as CSV through ``COPY ... FROM STDIN`` (psycopg2): DuckDB here cannot download its
postgres extension, and COPY is PostgreSQL's fastest bulk path anyway.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from orchestration.errors import SettingsError
from orchestration.sql import sql_string

TRUE_VALUES = ("1", "true", "yes", "on")
FALSE_VALUES = ("", "0", "false", "no", "off")

# DuckDB column types (duckdb_columns().data_type) -> PostgreSQL
_SIMPLE_TYPES = {
    "VARCHAR": "text",
    "BOOLEAN": "boolean",
    "TINYINT": "smallint",
    "SMALLINT": "smallint",
    "INTEGER": "integer",
    "BIGINT": "bigint",
    "HUGEINT": "numeric(38,0)",
    "UTINYINT": "smallint",
    "USMALLINT": "integer",
    "UINTEGER": "bigint",
    "UBIGINT": "numeric(20,0)",
    "FLOAT": "real",
    "DOUBLE": "double precision",
    "DATE": "date",
    "TIME": "time",
    "TIMESTAMP": "timestamp",
    "TIMESTAMP WITH TIME ZONE": "timestamptz",
    "INTERVAL": "interval",
    "UUID": "uuid",
    "JSON": "jsonb",
    "BLOB": "bytea",
}


def postgres_type(duckdb_type: str) -> str:
    upper = duckdb_type.upper()
    if upper in _SIMPLE_TYPES:
        return _SIMPLE_TYPES[upper]
    decimal = re.fullmatch(r"DECIMAL\((\d+),\s*(\d+)\)", upper)
    if decimal:
        return f"numeric({decimal.group(1)},{decimal.group(2)})"
    raise ValueError(f"no PostgreSQL type for DuckDB type {duckdb_type!r}")


@dataclass(frozen=True)
class PostgresTarget:
    host: str
    port: int
    user: str
    database: str
    password: str = field(default="", repr=False)
    publish: bool = False
    publish_schema: str = "marts"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "PostgresTarget":
        raw_port = env.get("KPI_PG_PORT", "").strip() or "5432"
        if not raw_port.isdigit() or not 0 < int(raw_port) < 65536:
            raise SettingsError(f"KPI_PG_PORT={raw_port!r} is not a TCP port")
        raw_publish = env.get("KPI_PUBLISH_POSTGRES", "").strip().lower()
        if raw_publish not in TRUE_VALUES + FALSE_VALUES:
            raise SettingsError(f"KPI_PUBLISH_POSTGRES={raw_publish!r}: use 1 or 0")
        schema = env.get("KPI_PG_PUBLISH_SCHEMA", "").strip() or "marts"
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", schema):
            raise SettingsError(f"KPI_PG_PUBLISH_SCHEMA={schema!r} is not a plain lower-case identifier")
        return cls(
            host=env.get("KPI_PG_HOST", "").strip() or "127.0.0.1",
            port=int(raw_port),
            user=env.get("KPI_PG_USER", "").strip() or "kpi",
            database=env.get("KPI_PG_DATABASE", "").strip() or "kpi_warehouse",
            password=env.get("KPI_PG_PASSWORD", ""),
            publish=raw_publish in TRUE_VALUES,
            publish_schema=schema,
        )

    def describe(self) -> str:
        """Where, without the password (for logs and metadata)."""
        return f"postgresql://{self.user}@{self.host}:{self.port}/{self.database}"

    def connect(self):
        import psycopg2

        return psycopg2.connect(host=self.host, port=self.port, user=self.user, password=self.password,
                                dbname=self.database, connect_timeout=10, application_name="kpi_warehouse")


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _columns(duck: duckdb.DuckDBPyConnection, database: str, schema: str, table: str) -> list[tuple[str, str]]:
    return duck.execute(
        "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = ? AND schema_name = ? "
        "AND table_name = ? ORDER BY column_index",
        [database, schema, table],
    ).fetchall()


def copy_tables(duck: duckdb.DuckDBPyConnection, database: str, schema: str, tables: Iterable[str],
                cursor, target_schema: str) -> dict[str, int]:
    """Create ``target_schema.<table>`` in PostgreSQL for each DuckDB table and COPY its rows in.

    Runs on the caller's cursor, so it belongs to the caller's transaction. Returns rows per table.
    """
    counts: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="kpi-pg-copy-") as tmp:
        for table in tables:
            columns = _columns(duck, database, schema, table)
            if not columns:
                raise ValueError(f"DuckDB table {database}.{schema}.{table} not found")
            target = f"{_quote(target_schema)}.{_quote(table)}"
            column_sql = ", ".join(f"{_quote(name)} {postgres_type(dtype)}" for name, dtype in columns)
            cursor.execute(f"CREATE TABLE {target} ({column_sql})")
            csv_path = Path(tmp) / f"{table}.csv"
            duck.execute(
                f"COPY (SELECT * FROM {_quote(database)}.{_quote(schema)}.{_quote(table)}) TO {sql_string(str(csv_path))} "
                "(FORMAT csv, HEADER true)"
            )
            with open(csv_path, encoding="utf-8") as handle:
                cursor.copy_expert(f"COPY {target} FROM STDIN WITH (FORMAT csv, HEADER true)", handle)
            counts[table] = cursor.rowcount
    return counts


def _duckdb_tables(duck: duckdb.DuckDBPyConnection, database: str, schema: str) -> list[str]:
    return [row[0] for row in duck.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND schema_name = ? ORDER BY table_name",
        [database, schema],
    ).fetchall()]


def replace_schema(target: PostgresTarget, duckdb_file: Path, source_schema: str, target_schema: str) -> dict[str, int]:
    """Replace PostgreSQL schema ``target_schema`` by every table of ``source_schema`` in a DuckDB file.

    One transaction: the tables are built in a side schema, then the old schema is dropped and the
    side schema renamed. PostgreSQL DDL is transactional, so a client sees the old schema or the new
    one, never a mix; a failure anywhere rolls everything back and leaves the old schema in place.
    (Views that other people created on the old schema are dropped with it: build them in another schema.)
    """
    incoming = f"{target_schema}__incoming"
    duck = duckdb.connect()
    try:
        duck.execute(f"ATTACH {sql_string(str(duckdb_file))} AS src (READ_ONLY)")
        tables = _duckdb_tables(duck, "src", source_schema)
        if not tables:
            raise RuntimeError(f"{duckdb_file} has no tables in schema {source_schema}")
        conn = target.connect()
        try:
            with conn.cursor() as cursor:
                cursor.execute(f"DROP SCHEMA IF EXISTS {_quote(incoming)} CASCADE")
                cursor.execute(f"CREATE SCHEMA {_quote(incoming)}")
                counts = copy_tables(duck, "src", source_schema, tables, cursor, incoming)
                cursor.execute(f"DROP SCHEMA IF EXISTS {_quote(target_schema)} CASCADE")
                cursor.execute(f"ALTER SCHEMA {_quote(incoming)} RENAME TO {_quote(target_schema)}")
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
        finally:
            conn.close()
    finally:
        duck.close()
    return counts
