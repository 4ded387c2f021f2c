"""The path-independence property's yardstick (tests/engine.py ``table_differences``): two DuckDB files'
tables compared as multisets of rows, in SQL, by row counts and hash sums first."""

from __future__ import annotations

from pathlib import Path

import duckdb

from tests.engine import table_differences

ROWS = [("HND", 2011, 86.13587952123), ("HND", 2011, 86.13587952123), ("GTM", 2012, 0.0), ("SLV", 2013, None)]


def warehouse(path: Path, rows: list[tuple], extra_column: bool = False) -> Path:
    with duckdb.connect(str(path)) as conn:
        conn.execute("CREATE SCHEMA marts")
        conn.execute(f"CREATE TABLE marts.kpi (country VARCHAR, year INTEGER, value DOUBLE{', note VARCHAR' if extra_column else ''})")
        conn.execute("CREATE TABLE marts.publication (id VARCHAR)")
        conn.execute("INSERT INTO marts.publication VALUES (?)", [path.stem])  # differs between any two
        for row in rows:
            conn.execute(f"INSERT INTO marts.kpi VALUES (?, ?, ?{', NULL' if extra_column else ''})", list(row))
    return path


def differences(tmp_path: Path, actual: list[tuple], **options) -> list[str]:
    return table_differences(warehouse(tmp_path / "actual.duckdb", actual, **options.pop("actual_options", {})),
                             warehouse(tmp_path / "expected.duckdb", ROWS), "marts", without_tables=("publication",), **options)


def test_the_same_rows_in_another_order_with_floats_equal_to_ten_digits_are_equal(tmp_path):
    reordered = [ROWS[3], ROWS[2], ("HND", 2011, 86.13587952124), ROWS[0]]  # the 13th digit differs
    assert differences(tmp_path, [(c, y, -0.0 if v == 0 else v) for c, y, v in reordered], float_digits=10) == []


def test_a_float_that_differs_within_ten_digits_differs(tmp_path):
    changed = [*ROWS[:3], ("SLV", 2013, None)]
    changed[0] = ("HND", 2011, 86.13588)
    found = differences(tmp_path, changed, float_digits=10)
    assert len(found) == 2 and "1 row(s) only here" in found[0] and "1 row(s) only in the reference" in found[1], found


def test_a_row_twice_is_not_the_same_as_once(tmp_path):
    found = differences(tmp_path, [*ROWS, ROWS[2]])
    assert found == [f"marts.kpi: 1 row(s) only here, e.g. [{ROWS[2]!r}]"]
    (tmp_path / "fewer").mkdir()
    found = differences(tmp_path / "fewer", ROWS[1:])
    assert found == [f"marts.kpi: 1 row(s) only in the reference, e.g. [{ROWS[0]!r}]"]


def test_without_rounding_floats_compare_exactly(tmp_path):
    assert len(differences(tmp_path, [("HND", 2011, 86.13587952124), *ROWS[1:]])) == 2


def test_other_columns_or_tables_are_named(tmp_path):
    found = differences(tmp_path, ROWS, actual_options={"extra_column": True})
    assert len(found) == 1 and found[0].startswith("marts.kpi: columns"), found
