"""The project's not_null_columns generic test (dbt_project/macros/test_not_null_columns.sql): one query
per model for every listed column, on a real dbt build of a small project on a DuckDB file."""

import shutil
import textwrap
from pathlib import Path

import duckdb
from dbt.cli.main import dbtRunner

from orchestration.core.settings import PROJECT_ROOT
from orchestration.transform import dbt_runner

SCHEMA_YML = """
version: 2
models:
  - name: visa_counts
    data_tests:
      - not_null_columns: {arguments: {column_names: [country, fiscal_year, visas]}}
"""


def build(root: Path, visas_sql: str):
    project = root / "project"
    (project / "models").mkdir(parents=True)
    (project / "macros").mkdir()
    shutil.copy(PROJECT_ROOT / "dbt_project" / "macros" / "test_not_null_columns.sql", project / "macros")
    (project / "dbt_project.yml").write_text("name: not_null_test\nversion: '1.0'\nprofile: not_null_test\n")
    (project / "profiles.yml").write_text(textwrap.dedent(f"""
        not_null_test:
          target: dev
          outputs:
            dev: {{type: duckdb, path: "{root / 'test.duckdb'}", threads: 1}}
    """))
    (project / "models" / "visa_counts.sql").write_text(visas_sql)
    (project / "models" / "schema.yml").write_text(SCHEMA_YML)
    result = dbtRunner().invoke(["build", "--quiet", "--store-failures", "--project-dir", str(project),
                                 "--profiles-dir", str(project), "--target-path", str(project / "target"),
                                 "--log-path", str(project / "target")])
    dbt_runner.release_warehouse()  # dbt-duckdb keeps its connection open in-process
    (test,) = [node for node in result.result.results if node.node.resource_type == "test"]
    return result, test


def test_no_null_in_any_listed_column_passes(tmp_path):
    result, test = build(tmp_path, "select 'HND' as country, 2024 as fiscal_year, 78163 as visas")
    assert result.success and test.status == "pass"


def test_each_column_with_nulls_is_one_failing_row_naming_it(tmp_path):
    result, test = build(tmp_path, """
        select 'HND' as country, 2023 as fiscal_year, cast(null as integer) as visas
        union all select null, 2024, null
        union all select 'GTM', 2024, 5""")
    assert not result.success and test.status == "fail"
    assert test.failures == 2  # visas and country; fiscal_year has none
    with duckdb.connect(str(tmp_path / "test.duckdb"), read_only=True) as conn:
        (table,) = conn.execute("select table_schema || '.' || table_name from information_schema.tables "
                                "where table_name like 'not_null_columns%'").fetchone()
        assert sorted(conn.execute(f"select null_column, null_rows from {table}").fetchall()) == [("country", 1), ("visas", 2)]
