"""Two publications compared table by table and row by row (the upgrade tests' yardstick)."""

from __future__ import annotations

from pathlib import Path

import duckdb

# the record of the publication itself (its id, time, run, version) differs between any two
RECORD_TABLE = "publication"


def marts_tables(serving_file: Path) -> dict[str, list[str]]:
    """table -> column names of every table of schema marts in a published DuckDB file."""
    with duckdb.connect(str(serving_file), read_only=True) as connection:
        rows = connection.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'marts' "
            "ORDER BY table_name, ordinal_position").fetchall()
    tables: dict[str, list[str]] = {}
    for table, column in rows:
        tables.setdefault(table, []).append(column)
    return tables


def publication_differences(expected_file: Path, actual_file: Path, limit: int = 3, across_engines: bool = False) -> list[str]:
    """What differs between two publications' marts (nothing: the same tables, columns and rows,
    as multisets of rows), besides their own records. Each line names the table and a few rows.

    ``across_engines``: the two were built by different engines (PostgreSQL against DuckDB), whose
    floating-point sums and medians may differ in the last bits: DOUBLE columns are compared in single
    precision (7 significant digits); everything else exactly."""
    expected, actual = marts_tables(expected_file), marts_tables(actual_file)
    differences = [f"table {table} only in {where}" for where, tables, other in
                   (("the expected publication", expected, actual), ("the actual publication", actual, expected))
                   for table in sorted(set(tables) - set(other)) if table != RECORD_TABLE]
    with duckdb.connect() as connection:
        connection.execute("ATTACH ? AS expected (READ_ONLY)", [str(expected_file)])
        connection.execute("ATTACH ? AS actual (READ_ONLY)", [str(actual_file)])
        for table in sorted(set(expected) & set(actual) - {RECORD_TABLE}):
            if expected[table] != actual[table]:
                differences.append(f"{table}: columns {expected[table]} expected, {actual[table]} published")
                continue
            select = "*"
            if across_engines:
                types = connection.execute(
                    "SELECT column_name, data_type FROM information_schema.columns WHERE table_catalog = 'expected' "
                    "AND table_schema = 'marts' AND table_name = ? ORDER BY ordinal_position", [table]).fetchall()
                select = ", ".join(f'CAST("{name}" AS FLOAT)' if kind == "DOUBLE" else f'"{name}"' for name, kind in types)
            for label, first, second in (("missing", "expected", "actual"), ("unexpected", "actual", "expected")):
                # EXCEPT ALL: rows as a multiset (a duplicated row counts twice)
                rows = connection.execute(
                    f'SELECT {select} FROM {first}.marts."{table}" EXCEPT ALL SELECT {select} FROM {second}.marts."{table}"').fetchall()
                if rows:
                    differences.append(f"{table}: {len(rows)} row(s) {label}, e.g. {rows[:limit]}")
    return differences
