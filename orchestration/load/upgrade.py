"""A new version over a warehouse built by an older one: what an upgrade does, in one place.

The first writing step of a run calls ``prepare_warehouse`` when it takes the writer lock
(``WarehouseResource.hold`` in orchestration/platform/resources.py), so the first write of a new version finds the warehouse as this
version expects it, on either engine:

- the version that last wrote the warehouse is in ``meta.warehouse_versions`` (a warehouse that
  has tables but no such record was built before versions existed: 0.1.0);
- a warehouse written by a NEWER version is refused before anything is written
  (``UpgradeRefused``, with what to run instead): this version cannot know what that one changed;
- from an older version, the load ledger migrates in place (its columns, in ONE transaction with
  the version record, idempotent), and the change is recorded.

The dbt step calls ``rebuild_changed_relations`` before it builds (every build, not only after an
upgrade, so a half-finished upgrade is finished by the next run): a seed whose CSV columns differ
from its table's, or an incremental model whose contract's columns differ from its table's, is
dropped, so the build reloads the seed whole and rebuilds the model whole (its history again from
raw, which keeps every release), and everything else with it. Without this, dbt-duckdb's seed
``COPY`` into the old table fails with "Error when sniffing file" and an incremental model fails
on ``on_schema_change: fail``, on every run, with a message far from the cause.

Beside it, every build, ``drop_relations_no_model_defines``: a table or view in a schema dbt builds
whose model or seed the project no longer has (a model removed by a new version, e.g. 0.4.0's
``marts.legacy_*``) is dropped, so it is neither published (publishing copies the whole marts
schema) nor read by a BI user as if it were current.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from orchestration.core.errors import KpiWarehouseError
from orchestration.core.sql import identifier, pyformat
from orchestration.core.version import UNVERSIONED, project_version, version_key

META_SCHEMA = "meta"
VERSIONS_TABLE = "warehouse_versions"
VERSIONS_DDL = (f"CREATE TABLE IF NOT EXISTS {META_SCHEMA}.{VERSIONS_TABLE} (version VARCHAR, previous_version VARCHAR, "
                "recorded_at TIMESTAMP, changes VARCHAR)")
VERSIONS_INSERT_SQL = f"INSERT INTO {META_SCHEMA}.{VERSIONS_TABLE} VALUES (?, ?, ?, ?)"
VERSIONS_SQL = f"SELECT version FROM {META_SCHEMA}.{VERSIONS_TABLE}"
# the tables a warehouse of any version has once it was written (versions before 0.2.0 record none)
BUILT_BEFORE_VERSIONS_SQL = ("SELECT count(*) FROM information_schema.tables WHERE table_schema IN ('raw', 'meta') "
                             "AND table_type = 'BASE TABLE'")
TABLE_EXISTS_SQL = ("SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ? "
                    "AND table_type = 'BASE TABLE'")
RELATIONS_SQL = ("SELECT table_schema, table_name, table_type FROM information_schema.tables "
                 "WHERE table_schema IN ({schemas}) ORDER BY table_schema, table_name")
COLUMNS_SQL = ("SELECT table_schema, table_name, column_name FROM information_schema.columns "
               "WHERE table_schema IN ({schemas}) ORDER BY table_schema, table_name, ordinal_position")


class UpgradeRefused(KpiWarehouseError):
    """The warehouse cannot be upgraded automatically (e.g. it was written by a newer version);
    nothing was written, and the message says what to run."""


# --- sessions: one transaction on either engine ------------------------------------------------


class _Session:
    """The few statements an upgrade runs, with ``?`` parameters on both engines."""

    def __init__(self, execute: Callable[[str, list], list], engine: str):
        self._execute = execute
        self.engine = engine

    def rows(self, sql: str, params: list | None = None) -> list[tuple]:
        return self._execute(sql, params or [])

    def run(self, sql: str, params: list | None = None) -> None:
        self._execute(sql, params or [])


@contextlib.contextmanager
def _session(warehouse, read_only: bool = False) -> Iterator[_Session]:
    """ONE transaction on the warehouse: committed when the block ends, rolled back when it raises.
    On PostgreSQL it holds the warehouse's DDL lock, so processes starting together (the
    multiprocess executor's load steps) upgrade once, one after the other."""
    if warehouse.engine == "postgres":
        from orchestration.load.lock import DDL_LOCK

        with warehouse.target.transaction() as cursor:
            if not read_only:
                cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", DDL_LOCK)

            def execute(sql: str, params: list) -> list:
                cursor.execute(pyformat(sql), params)
                return cursor.fetchall() if cursor.description else []

            yield _Session(execute, "postgres")
        return
    from orchestration.load.warehouse import connect

    with connect(warehouse.path, read_only=read_only) as conn:
        if read_only:
            yield _Session(lambda sql, params: conn.execute(sql, params).fetchall(), "duckdb")
            return
        conn.execute("BEGIN TRANSACTION").fetchall()
        try:
            yield _Session(lambda sql, params: conn.execute(sql, params).fetchall(), "duckdb")
            conn.execute("COMMIT").fetchall()
        except BaseException:
            conn.execute("ROLLBACK").fetchall()
            raise


# --- the version that last wrote the warehouse -------------------------------------------------


def _recorded_version(session: _Session) -> str | None:
    """The newest version that wrote the warehouse; UNVERSIONED for one built before versions
    existed; None for a new (empty) warehouse."""
    if session.rows(TABLE_EXISTS_SQL, [META_SCHEMA, VERSIONS_TABLE])[0][0]:
        versions = [row[0] for row in session.rows(VERSIONS_SQL)]
        if versions:
            return max(versions, key=version_key)
    return UNVERSIONED if session.rows(BUILT_BEFORE_VERSIONS_SQL)[0][0] else None


def warehouse_version(warehouse) -> str | None:
    """The version that last wrote the warehouse (read-only; None: nothing built yet)."""
    if warehouse.engine == "duckdb" and not warehouse.path.exists():
        return None
    with _session(warehouse, read_only=True) as session:
        return _recorded_version(session)


def refusal_for(recorded: str | None, current: str, where: str) -> str | None:
    """Why this version may not write a warehouse last written by ``recorded`` (None: it may)."""
    if recorded is None or version_key(recorded) <= version_key(current):
        return None
    return (f"the warehouse {where} was written by kpi-warehouse {recorded}, newer than this checkout's {current}: "
            f"nothing was written. Run version {recorded} or later (git pull, or `git checkout` the commit of "
            f"{recorded} in CHANGELOG.md), or point KPI_WAREHOUSE_PATH (DuckDB) or KPI_PG_DATABASE (PostgreSQL) at "
            f"another warehouse and run `make run` to build one with {current}.")


def check_writable(warehouse) -> None:
    """Raise ``UpgradeRefused`` when this version may not write the warehouse (read-only)."""
    refusal = refusal_for(warehouse_version(warehouse), project_version(), warehouse.describe())
    if refusal:
        raise UpgradeRefused(refusal)


def _record(session: _Session, version: str, previous: str | None, changes: list[str]) -> None:
    session.run(f"CREATE SCHEMA IF NOT EXISTS {META_SCHEMA}")
    session.run(VERSIONS_DDL)
    session.run(VERSIONS_INSERT_SQL, [version, previous, dt.datetime.now(dt.timezone.utc).replace(tzinfo=None),
                                      json.dumps(changes)])


def prepare_warehouse(warehouse, log: Callable[[str], None] = print) -> list[str]:
    """Make the warehouse this version's before a step writes it: refuse a newer one, migrate an
    older one's raw tables and ledger in ONE transaction with the record of the upgrade. Returns
    what changed (nothing when this version already wrote it)."""
    current = project_version()
    with _session(warehouse) as session:
        recorded = _recorded_version(session)
        refusal = refusal_for(recorded, current, warehouse.describe())
        if refusal:
            raise UpgradeRefused(refusal)
        # every time, not only on a new version: cheap (one catalog query), and a raw schema
        # changed in the YAML reaches the warehouse before the load that needs it
        changes = migrate_raw(session) if recorded is not None else []
        if recorded == current and not changes:
            return []
        _record(session, current, recorded, changes or ["created" if recorded is None else "no raw change"])
    if recorded is not None:
        what = "; ".join(changes) or "no raw table changed"
        log(f"warehouse upgraded from {recorded} to {current}: {what}" if recorded != current else f"raw tables migrated: {what}")
    return changes


# --- raw tables and the load ledger ------------------------------------------------------------


def migrate_raw(session: _Session) -> list[str]:
    """The raw tables' migrations since 0.1.0, each idempotent (run inside ``prepare_warehouse``'s
    transaction). The load ledger gained its release columns during 0.1.0's history: a ledger
    from before them gets them, its loads numbered in load order."""
    from orchestration.load.warehouse import _LEDGER_COLUMNS, LEDGER_TABLE, RAW_SCHEMA

    changes: list[str] = []
    if not session.rows(TABLE_EXISTS_SQL, [RAW_SCHEMA, LEDGER_TABLE])[0][0]:
        return changes
    present = {row[0] for row in session.rows(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ?", [RAW_SCHEMA, LEDGER_TABLE])}
    for name, kind in _LEDGER_COLUMNS:
        if name in present:
            continue
        session.run(f"ALTER TABLE {RAW_SCHEMA}.{LEDGER_TABLE} ADD COLUMN {identifier(name)} {kind}")
        if name == "load_seq":
            session.run(
                f"UPDATE {RAW_SCHEMA}.{LEDGER_TABLE} AS ledger SET load_seq = numbered.seq FROM (SELECT load_id, "
                f"row_number() OVER (ORDER BY loaded_at, load_id) AS seq FROM {RAW_SCHEMA}.{LEDGER_TABLE}) AS numbered "
                "WHERE ledger.load_id = numbered.load_id")
        changes.append(f"raw.{LEDGER_TABLE}: column {name} added")
    return changes + _migrate_declared_raw_tables(session)


def _migrate_declared_raw_tables(session: _Session) -> list[str]:
    """Each existing raw table brought to its declared schema (orchestration/load/raw_schema.py): a
    declared column it lacks is added (NULL in the rows loaded before), a column of another type is
    converted. A value that does not convert stops the upgrade (``UpgradeRefused``): nothing is
    written, and the message says how to reload the table instead. A column no longer declared is
    kept (nothing reads it)."""
    from orchestration.core.postgres import _DUCKDB_TYPES, postgres_type
    from orchestration.load.raw_schema import RAW_SCHEMA, declared_raw_schemas

    present: dict[str, dict[str, str]] = {}
    for table, column, kind in session.rows(
            "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = ? "
            "ORDER BY table_name, ordinal_position", [RAW_SCHEMA]):
        if session.engine == "postgres":  # PostgreSQL's type names, as DuckDB's (the declared ones)
            kind = _DUCKDB_TYPES.get(kind, kind)
        present.setdefault(table, {})[column] = kind.upper()
    engine_type = postgres_type if session.engine == "postgres" else str
    changes = []
    stale_tables: set[str] = set()  # tables whose rows lack a new column's values (e.g. kpi_lineage's)
    for table, declared in declared_raw_schemas().items():
        columns = present.get(table)
        if columns is None:
            continue  # not loaded yet: its first load creates it as declared
        qualified = f"{RAW_SCHEMA}.{identifier(table)}"
        for column, kind in declared:
            kind = kind.upper()
            if column not in columns:
                session.run(f"ALTER TABLE {qualified} ADD COLUMN {identifier(column)} {engine_type(kind)}")
                changes.append(f"raw.{table}: column {column} {kind} added")
                if session.rows(f"SELECT count(*) FROM {qualified}")[0][0]:
                    stale_tables.add(table)
            elif columns[column] != kind:
                target = engine_type(kind)
                try:
                    session.run(f"ALTER TABLE {qualified} ALTER COLUMN {identifier(column)} TYPE {target} "
                                f"USING CAST({identifier(column)} AS {target})")
                except Exception as exc:
                    raise UpgradeRefused(
                        f"raw.{table}.{column} holds values that do not convert from {columns[column]} to {kind} "
                        f"({type(exc).__name__}: {str(exc).splitlines()[0]}); nothing was written. Reload the table from the "
                        f"releases the source holds: drop it (DROP TABLE {RAW_SCHEMA}.{table}) and run `make run`.") from exc
                changes.append(f"raw.{table}: column {column} {columns[column]} -> {kind}")
    return changes + _reparse_sources_of(session, stale_tables)


def _reparse_sources_of(session: _Session, tables: set[str]) -> list[str]:
    """The rows loaded before a column existed have no value for it, though the landings they were
    parsed from have (e.g. each value's place in its file, for kpi_lineage): the sources of those
    tables forget which releases they loaded, so their next load re-reads every release whole from
    the landing archive (the ledger's history stays)."""
    from orchestration.load.warehouse import LEDGER_TABLE, RAW_SCHEMA
    from orchestration.sources import discover

    source_of = {dataset.name: spec.name for spec in discover() for dataset in spec.datasets}
    sources = sorted({source_of[table] for table in tables if table in source_of})
    for source in sources:
        session.run(f"UPDATE {RAW_SCHEMA}.{LEDGER_TABLE} SET releases = ? WHERE source = ?", ["[]", source])
    return [f"{source}: its releases are re-read from the landings on its next load (new raw columns)" for source in sources]


# --- seeds and models whose columns changed ----------------------------------------------------


@dataclass(frozen=True)
class ChangedRelation:
    """A seed or model table whose columns in the warehouse are not the ones this version builds."""

    kind: str  # "seed" or "model"
    schema: str
    name: str
    expected: tuple[str, ...]
    present: tuple[str, ...]

    def describe(self) -> str:
        added = [column for column in self.expected if column not in self.present]
        dropped = [column for column in self.present if column not in self.expected]
        parts = [f"+{', +'.join(added)}" if added else "", f"-{', -'.join(dropped)}" if dropped else ""]
        what = " ".join(part for part in parts if part)
        action = "reloaded whole" if self.kind == "seed" else "rebuilt whole from raw"
        return f"{self.kind} {self.schema}.{self.name} {action} (columns {what or 'reordered'})"


def _seed_header(project_dir: Path, node: Mapping) -> tuple[str, ...]:
    import csv

    with open(project_dir / node["original_file_path"], newline="", encoding="utf-8") as file:
        return tuple(next(csv.reader(file)))


def expected_columns(manifest: Mapping, project_dir: Path) -> dict[tuple[str, str], tuple[str, tuple[str, ...]]]:
    """(schema, table) -> (kind, columns) for what a build keeps between builds: every seed (its
    CSV header, in order: dbt loads a seed by position) and every incremental model (its contract's
    columns; tests/unit/test_upgrade.py holds every incremental model to an enforced contract).
    Other models are replaced whole by every build that selects them."""
    expected = {}
    for node in manifest["nodes"].values():
        key = (node["schema"], node.get("alias") or node["name"])
        if node["resource_type"] == "seed":
            expected[key] = ("seed", _seed_header(project_dir, node))
        elif node["resource_type"] == "model" and node["config"].get("materialized") == "incremental":
            expected[key] = ("model", tuple(node["columns"]))
    return expected


def changed_relations(expected: Mapping[tuple[str, str], tuple[str, tuple[str, ...]]],
                      present: Mapping[tuple[str, str], tuple[str, ...]]) -> list[ChangedRelation]:
    """The existing tables whose columns differ from ``expected`` (pure, unit-tested). A seed's
    order counts; a model's columns are compared as a set (dbt inserts by name)."""
    changed = []
    for (schema, name), (kind, columns) in sorted(expected.items()):
        existing = present.get((schema, name))
        if existing is None:
            continue  # not built yet: the build creates it
        same = existing == columns if kind == "seed" else set(existing) == set(columns)
        if not same:
            changed.append(ChangedRelation(kind, schema, name, columns, existing))
    return changed


def _present_columns(session: _Session, schemas: set[str]) -> dict[tuple[str, str], tuple[str, ...]]:
    for schema in schemas:
        identifier(schema)
    present: dict[tuple[str, str], list[str]] = {}
    placeholders = ", ".join("?" for _ in schemas)
    for schema, table, column in session.rows(COLUMNS_SQL.format(schemas=placeholders), sorted(schemas)):
        present.setdefault((schema, table), []).append(column)
    return {key: tuple(columns) for key, columns in present.items()}


def rebuild_changed_relations(warehouse, manifest: Mapping, project_dir: Path,
                              log: Callable[[str], None] = print) -> list[str]:
    """Drop every seed or incremental model table whose columns changed, in ONE transaction with
    the record of it, so the build that follows reloads or rebuilds them whole. Returns what was
    dropped (the caller then builds every model and every year). On PostgreSQL the views reading a
    dropped table go with it (CASCADE); the build that follows makes them again."""
    expected = expected_columns(manifest, project_dir)
    with _session(warehouse) as session:
        changed = changed_relations(expected, _present_columns(session, {schema for schema, _ in expected}))
        if not changed:
            return []
        cascade = " CASCADE" if session.engine == "postgres" else ""
        for relation in changed:
            session.run(f"DROP TABLE {identifier(relation.schema)}.{identifier(relation.name)}{cascade}")
        changes = [relation.describe() for relation in changed]
        current = project_version()
        _record(session, current, current, changes)
    for change in changes:
        log(f"upgrade: {change}")
    return changes


# --- relations no model defines any more ---------------------------------------------------------


def defined_relations(manifest: Mapping) -> set[tuple[str, str]]:
    """(schema, name) of every relation the dbt project builds: its models, seeds and snapshots."""
    nodes = [*manifest["nodes"].values(), *manifest.get("snapshots", {}).values()]
    return {(node["schema"], node.get("alias") or node["name"]) for node in nodes
            if node["resource_type"] in ("model", "seed", "snapshot")}


def undefined_relations(defined: set[tuple[str, str]], present: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """(schema, name, table type) of the ``present`` relations of dbt's schemas that no node of
    ``defined`` builds (pure, unit-tested); views first, so no view outlives the table it reads."""
    schemas = {schema for schema, _ in defined}
    orphans = [relation for relation in present if relation[0] in schemas and relation[:2] not in defined]
    return sorted(orphans, key=lambda relation: (relation[2] != "VIEW", relation[0], relation[1]))


def drop_relations_no_model_defines(warehouse, manifest: Mapping, log: Callable[[str], None] = print) -> list[str]:
    """Drop every table or view of the schemas dbt builds that no model, seed or snapshot of the
    project defines any more (a model a new version removed), in ONE transaction with the record of
    it. Returns what was dropped. Only dbt's schemas are looked at: raw and meta belong to the loads,
    and what dbt stores elsewhere (test failures) is not published."""
    defined = defined_relations(manifest)
    schemas = sorted({schema for schema, _ in defined})
    for schema in schemas:
        identifier(schema)
    with _session(warehouse) as session:
        present = session.rows(RELATIONS_SQL.format(schemas=", ".join("?" for _ in schemas)), schemas)
        orphans = undefined_relations(defined, [tuple(row) for row in present])
        if not orphans:
            return []
        # PostgreSQL: a view of an earlier version still reading a dropped table goes with it
        cascade = " CASCADE" if session.engine == "postgres" else ""
        for schema, name, table_type in orphans:
            kind = "VIEW" if table_type == "VIEW" else "TABLE"
            session.run(f"DROP {kind} IF EXISTS {identifier(schema)}.{identifier(name)}{cascade}")
        changes = [f"{'view' if table_type == 'VIEW' else 'table'} {schema}.{name} dropped (no model defines it any more)"
                   for schema, name, table_type in orphans]
        current = project_version()
        _record(session, current, current, changes)
    for change in changes:
        log(f"upgrade: {change}")
    return changes
