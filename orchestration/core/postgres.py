"""PostgreSQL: the warehouse engine ``KPI_WAREHOUSE=postgres`` (orchestration/load/postgres_warehouse.py),
and a publication target for BI tools.

Settings (environment; the same variables dbt_project/profiles.yml reads for its ``postgres`` target):
``KPI_PG_HOST`` (127.0.0.1), ``KPI_PG_PORT`` (5432), ``KPI_PG_USER`` (kpi), ``KPI_PG_PASSWORD``,
``KPI_PG_DATABASE`` (kpi_warehouse: the warehouse); ``KPI_PUBLISH_POSTGRES=1`` makes every
publication also replace the schema ``KPI_PG_PUBLISH_SCHEMA`` (default ``marts``) of
``KPI_PG_PUBLISH_DATABASE`` (default: ``KPI_PG_DATABASE``), in one transaction, granting read
access to ``KPI_PG_READER_ROLES`` (comma-separated) inside it.
The password is passed to the driver only: it is never logged, and ``describe()`` leaves it out.

Tables are moved as CSV through ``COPY ... FROM STDIN`` (psycopg2): DuckDB here cannot download its
postgres extension, and COPY is PostgreSQL's fastest bulk path anyway.
"""

from __future__ import annotations

import contextlib
import re
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import duckdb

from orchestration.core.errors import SettingsError
from orchestration.core.sql import sql_string

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


# PostgreSQL column types (format_type) -> DuckDB, for copies out of PostgreSQL (the marts into the
# serving file, raw history into a DataFrame); the inverse of _SIMPLE_TYPES where both have the type
_DUCKDB_TYPES = {
    "text": "VARCHAR",
    "character varying": "VARCHAR",
    "boolean": "BOOLEAN",
    "smallint": "SMALLINT",
    "integer": "INTEGER",
    "bigint": "BIGINT",
    "real": "FLOAT",
    "double precision": "DOUBLE",
    "date": "DATE",
    "time without time zone": "TIME",
    "time": "TIME",
    "timestamp without time zone": "TIMESTAMP",
    "timestamp": "TIMESTAMP",
    "timestamp with time zone": "TIMESTAMP WITH TIME ZONE",
    "timestamptz": "TIMESTAMP WITH TIME ZONE",
    "interval": "INTERVAL",
    "uuid": "UUID",
    "jsonb": "JSON",
    "json": "JSON",
    "bytea": "BLOB",
}


def duckdb_type(postgres_type_name: str) -> str:
    """The DuckDB type of a PostgreSQL column type (as ``format_type`` spells it)."""
    lower = postgres_type_name.lower()
    base = re.sub(r"\(\d+\)$", "", lower)  # character varying(20), timestamp(3) ...
    if base in _DUCKDB_TYPES:
        return _DUCKDB_TYPES[base]
    decimal = re.fullmatch(r"numeric\((\d+),(\d+)\)", lower)
    if decimal and int(decimal.group(1)) <= 38:
        return f"DECIMAL({decimal.group(1)},{decimal.group(2)})"
    # an unconstrained numeric has no DuckDB type that holds every value: cast it in the model
    raise ValueError(f"no DuckDB type for PostgreSQL type {postgres_type_name!r}")


@dataclass(frozen=True)
class PostgresTarget:
    host: str
    port: int
    user: str
    database: str
    password: str = field(default="", repr=False)
    publish: bool = False
    publish_schema: str = "marts"
    publish_database: str = ""  # empty: ``database``
    # roles granted read access to each publication inside its swap, so they survive it
    reader_roles: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "PostgresTarget":
        raw_port = env.get("KPI_PG_PORT", "").strip() or "5432"
        if not raw_port.isdigit() or not 0 < int(raw_port) < 65536:
            raise SettingsError(f"KPI_PG_PORT={raw_port!r} is not a TCP port")
        raw_publish = env.get("KPI_PUBLISH_POSTGRES", "").strip().lower()
        if raw_publish not in TRUE_VALUES + FALSE_VALUES:
            raise SettingsError(f"KPI_PUBLISH_POSTGRES={raw_publish!r}: use 1 or 0")
        schema = _plain_identifier(env, "KPI_PG_PUBLISH_SCHEMA", "marts")
        database = env.get("KPI_PG_DATABASE", "").strip() or "kpi_warehouse"
        roles = tuple(role.strip() for role in env.get("KPI_PG_READER_ROLES", "").split(",") if role.strip())
        for role in roles:
            _plain_identifier({"KPI_PG_READER_ROLES": role}, "KPI_PG_READER_ROLES", "")
        return cls(
            host=env.get("KPI_PG_HOST", "").strip() or "127.0.0.1",
            port=int(raw_port),
            user=env.get("KPI_PG_USER", "").strip() or "kpi",
            database=database,
            password=env.get("KPI_PG_PASSWORD", ""),
            publish=raw_publish in TRUE_VALUES,
            publish_schema=schema,
            publish_database=env.get("KPI_PG_PUBLISH_DATABASE", "").strip() or database,
            reader_roles=roles,
        )

    def describe(self) -> str:
        """Where, without the password (for logs and metadata)."""
        return f"postgresql://{self.user}@{self.host}:{self.port}/{self.database}"

    def publishing(self) -> "PostgresTarget":
        """The same server and role, connected to the database publications go to."""
        return replace(self, database=self.publish_database or self.database)

    def connect(self):
        import psycopg2

        return psycopg2.connect(host=self.host, port=self.port, user=self.user, password=self.password,
                                dbname=self.database, connect_timeout=10, application_name="kpi_warehouse")

    @contextlib.contextmanager
    def transaction(self, isolation: str | None = None) -> Iterator:
        """A cursor in one transaction of a connection of its own: committed when the block ends,
        rolled back when it raises."""
        conn = self.connect()
        try:
            if isolation:
                conn.set_session(isolation_level=isolation)
            with conn.cursor() as cursor:
                yield cursor
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
        finally:
            conn.close()


def _plain_identifier(env: Mapping[str, str], name: str, default: str) -> str:
    value = env.get(name, "").strip() or default
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", value):
        raise SettingsError(f"{name}={value!r} is not a plain lower-case identifier")
    return value


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
    for table in tables:
        columns = _columns(duck, database, schema, table)
        if not columns:
            raise ValueError(f"DuckDB table {database}.{schema}.{table} not found")
        target = f"{_quote(target_schema)}.{_quote(table)}"
        column_sql = ", ".join(f"{_quote(name)} {postgres_type(dtype)}" for name, dtype in columns)
        cursor.execute(f"CREATE TABLE {target} ({column_sql})")
        counts[table] = copy_relation_in(duck, f"{_quote(database)}.{_quote(schema)}.{_quote(table)}", cursor, target,
                                         [name for name, _ in columns])
    return counts


def copy_relation_in(duck: duckdb.DuckDBPyConnection, source: str, cursor, target: str, columns: list[str]) -> int:
    """COPY the rows of a DuckDB relation ``source`` (a table, or a registered DataFrame; already
    quoted) into the PostgreSQL table ``target`` (already quoted), columns ``columns`` in that order. On the caller's cursor, so inside
    the caller's transaction. Returns the rows copied. CSV through a temporary file: DuckDB writes
    every double in its shortest exact form, and NULL apart from the empty string, as COPY reads them."""
    column_sql = ", ".join(_quote(name) for name in columns)
    with tempfile.TemporaryDirectory(prefix="kpi-pg-copy-") as tmp:
        csv_path = Path(tmp) / "rows.csv"
        duck.execute(f"COPY (SELECT {column_sql} FROM {source}) TO {sql_string(str(csv_path))} (FORMAT csv, HEADER true)")
        with open(csv_path, encoding="utf-8") as handle:
            cursor.copy_expert(f"COPY {target} ({column_sql}) FROM STDIN WITH (FORMAT csv, HEADER true)", handle)
        return cursor.rowcount


def relation_columns(cursor, relation: str) -> list[tuple[str, str]]:
    """(name, PostgreSQL type) of each column of a table or view (``relation`` as SQL names it)."""
    cursor.execute(
        "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = to_regclass(%s) "
        "AND attnum > 0 AND NOT attisdropped ORDER BY attnum", [relation])
    return cursor.fetchall()


COPY_OUT_VIEW = "kpi_copy_out"


def copy_query_out(cursor, query: str, duck: duckdb.DuckDBPyConnection, target: str) -> int:
    """Create the DuckDB table ``target`` (already quoted) with the rows of a PostgreSQL query, its
    columns typed as PostgreSQL types them (``query`` is the pipeline's own SQL, parameters inlined
    by ``cursor.mogrify``). Returns the rows copied."""
    cursor.execute(f"CREATE OR REPLACE TEMPORARY VIEW {COPY_OUT_VIEW} AS {query}")
    try:
        typed = [(name, duckdb_type(kind)) for name, kind in relation_columns(cursor, f"pg_temp.{COPY_OUT_VIEW}")]
        column_sql = ", ".join(f"{_quote(name)} {kind}" for name, kind in typed)
        duck.execute(f"CREATE TABLE {target} ({column_sql})")
        with tempfile.TemporaryDirectory(prefix="kpi-pg-copy-") as tmp:
            csv_path = Path(tmp) / "rows.csv"
            with open(csv_path, "w", encoding="utf-8") as handle:
                cursor.copy_expert(f"COPY (SELECT * FROM {COPY_OUT_VIEW}) TO STDOUT WITH (FORMAT csv, HEADER true)", handle)
            # read_csv's columns: a struct of quoted names and types
            columns = "{" + ", ".join(f"{sql_string(name)}: {sql_string(kind)}" for name, kind in typed) + "}"
            duck.execute(
                f"INSERT INTO {target} SELECT * FROM read_csv({sql_string(str(csv_path))}, header = true, columns = {columns}, "
                "auto_detect = false, delim = ',', quote = '\"', escape = '\"', allow_quoted_nulls = false)")
    finally:
        cursor.execute(f"DROP VIEW IF EXISTS {COPY_OUT_VIEW}")
    return duck.execute(f"SELECT count(*) FROM {target}").fetchone()[0]


def _duckdb_tables(duck: duckdb.DuckDBPyConnection, database: str, schema: str) -> list[str]:
    return [row[0] for row in duck.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND schema_name = ? ORDER BY table_name",
        [database, schema],
    ).fetchall()]


SWAP_LOCK_DEADLINE_SECONDS = 120.0
SWAP_LOCK_RETRY_SECONDS = 0.05


def lock_for_swap(cursor, schema: str, deadline_seconds: float = SWAP_LOCK_DEADLINE_SECONDS) -> None:
    """Take every table of ``schema`` at once (ACCESS EXCLUSIVE), before the swap drops them.

    DROP SCHEMA ... CASCADE would lock the tables one by one while a reader's query locks them one
    by one too, in its own order: each can hold a table the other waits for (a deadlock, which
    PostgreSQL breaks by failing one of them, often the reader). So the swap asks for all of them
    in one statement that never waits (NOWAIT), and tries again while a reader holds one; once it
    holds them all it waits for nothing, readers queue behind it and then read the new tables."""
    import time

    import psycopg2.errors

    cursor.execute("SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) FROM information_schema.tables "
                   "WHERE table_schema = %s AND table_type = 'BASE TABLE' ORDER BY table_name", [schema])
    tables = [row[0] for row in cursor.fetchall()]
    if not tables:
        return
    deadline = time.monotonic() + deadline_seconds
    cursor.execute("SAVEPOINT kpi_swap_lock")
    while True:
        try:
            cursor.execute(f"LOCK TABLE {', '.join(tables)} IN ACCESS EXCLUSIVE MODE NOWAIT")
            return
        except psycopg2.errors.LockNotAvailable:
            cursor.execute("ROLLBACK TO SAVEPOINT kpi_swap_lock")
            if time.monotonic() > deadline:
                raise RuntimeError(f"could not take the tables of schema {schema} for the swap within {deadline_seconds:g} s: "
                                   "readers kept them busy; nothing was published") from None
            time.sleep(SWAP_LOCK_RETRY_SECONDS)


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
        with target.transaction() as cursor:
            cursor.execute(f"DROP SCHEMA IF EXISTS {_quote(incoming)} CASCADE")
            cursor.execute(f"CREATE SCHEMA {_quote(incoming)}")
            counts = copy_tables(duck, "src", source_schema, tables, cursor, incoming)
            for role in target.reader_roles:  # granted on the new schema before it becomes visible
                cursor.execute(f"GRANT USAGE ON SCHEMA {_quote(incoming)} TO {_quote(role)}")
                cursor.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA {_quote(incoming)} TO {_quote(role)}")
            lock_for_swap(cursor, target_schema)
            cursor.execute(f"DROP SCHEMA IF EXISTS {_quote(target_schema)} CASCADE")
            cursor.execute(f"ALTER SCHEMA {_quote(incoming)} RENAME TO {_quote(target_schema)}")
    finally:
        duck.close()
    return counts
