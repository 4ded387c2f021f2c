"""The raw tables' schemas, declared: every column's type in the source's dbt sources YAML
(``dbt_project/models/staging/<source>/_<source>__sources.yml``, ``data_type``, DuckDB's type names).

Before 0.2.0 a raw table took its column types from the first frame ever loaded into it (a column
empty in that frame got whatever type pandas guessed). Now a raw table is created from its
declaration, every load is cast to it, and ``orchestration.load.upgrade.migrate_raw`` brings the raw
tables of an older warehouse to it (columns added, types changed) in one transaction. The one
place to change a raw schema is that YAML: dbt documents the column from it too.
"""

from __future__ import annotations

import functools
from pathlib import Path

import yaml

from orchestration.core.settings import DBT_PROJECT_DIR
from orchestration.core.sql import identifier

RAW_SCHEMA = "raw"
SOURCES_YAML_GLOB = "models/staging/*/_*__sources.yml"


@functools.cache
def declared_raw_schemas(project_dir: Path = DBT_PROJECT_DIR) -> dict[str, tuple[tuple[str, str], ...]]:
    """raw table -> ((column, DuckDB type), ...) in declared order, from every dbt sources YAML."""
    schemas: dict[str, tuple[tuple[str, str], ...]] = {}
    for path in sorted(project_dir.glob(SOURCES_YAML_GLOB)):
        for source in yaml.safe_load(path.read_text(encoding="utf-8")).get("sources", []):
            if source.get("schema") != RAW_SCHEMA:
                continue
            for table in source.get("tables", []):
                columns = tuple((column["name"], str(column.get("data_type") or "")) for column in table.get("columns", []))
                untyped = [name for name, kind in columns if not kind]
                if untyped:
                    raise ValueError(f"{path}: raw.{table['name']} declares no data_type for {untyped}")
                # the types are spliced into DDL: only the few the raw tables use are accepted
                schemas[table["name"]] = tuple((name, _checked_type(kind).lower()) for name, kind in columns)
    return schemas


def declared_columns(table: str) -> tuple[tuple[str, str], ...] | None:
    """The declared (column, DuckDB type) of ``raw.<table>``; None for a table no YAML declares (a
    test's own table: it keeps the types of its first frame)."""
    return declared_raw_schemas().get(table)


def create_table_sql(table: str, first_frame_relation: str, type_name=lambda duckdb_type: duckdb_type) -> str:
    """CREATE TABLE IF NOT EXISTS for ``raw.<table>``: its declared columns (``type_name`` turns a
    DuckDB type into the engine's), or, undeclared, the columns of ``first_frame_relation``."""
    qualified = f"{RAW_SCHEMA}.{identifier(table)}"
    declared = declared_columns(table)
    if declared is None:
        return f"CREATE TABLE IF NOT EXISTS {qualified} AS SELECT * FROM {identifier(first_frame_relation)} LIMIT 0"
    columns = ", ".join(f"{identifier(name)} {type_name(_checked_type(kind))}" for name, kind in declared)
    return f"CREATE TABLE IF NOT EXISTS {qualified} ({columns})"


def cast_select_list(table: str, columns: list[str]) -> str:
    """``columns`` of a load's frame, each cast to its declared type (undeclared table: as they are).
    A frame column the declaration lacks fails the load, naming it: declare it first."""
    declared = declared_columns(table)
    if declared is None:
        return ", ".join(identifier(column) for column in columns)
    types = dict(declared)
    undeclared = [column for column in columns if column not in types]
    if undeclared:
        raise ValueError(f"raw.{table}: the load has column(s) {undeclared} that its dbt sources YAML does not declare "
                         f"(add them with a data_type to dbt_project/{SOURCES_YAML_GLOB})")
    return ", ".join(f"CAST({identifier(column)} AS {_checked_type(types[column])}) AS {identifier(column)}" for column in columns)


_TYPE_NAMES = frozenset({"varchar", "bigint", "integer", "double", "date", "timestamp", "boolean"})


def _checked_type(kind: str) -> str:
    """A declared type, from the few the raw tables use (it is spliced into DDL)."""
    if kind.lower() not in _TYPE_NAMES:
        raise ValueError(f"raw column type {kind!r} is not one of {sorted(_TYPE_NAMES)}")
    return kind.upper()
