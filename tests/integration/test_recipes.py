"""Every recipe of docs/serving.md, run as written, with the client it names.

A recipe is a fenced block right after a ``<!-- recipe: NAME -->`` comment. Each runs in a working
directory whose ``data/serving`` is the serving directory of the shared replay build (the paths of the
docs, as after ``make run``); only the placeholders for a PostgreSQL host, port and passwords
(``db.example.org``, ``5432``, ``...``) and the absolute path of the Superset URI are replaced. Clients
that are not the project's own dependencies run in throwaway virtualenvs (tests/client_envs.py), at the
versions the docs' "Version limits" table names. PostgreSQL is a throwaway 15 cluster (tests/pg.py)
that the pipeline publishes to twice, as the documented publisher role, read by the documented reader.
"""

from __future__ import annotations

import os
import re
import secrets
import shlex
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from orchestration.config import load_settings
from orchestration.core.postgres import PostgresTarget
from orchestration.publish.publication import SERVING_FILE, publish
from tests.client_envs import client_python
from tests.conftest import REPO_ROOT
from tests.pg import PG_SUPERUSER, start_cluster

pytestmark = pytest.mark.integration

DOC = REPO_ROOT / "docs" / "serving.md"
RECIPE = re.compile(r"<!-- recipe: ([\w-]+) -->\n```(\w*)\n(.*?)```", re.S)
# every recipe the docs hold, and the test below that runs it
TESTED = {
    "duckdb-cli": "test_duckdb_cli_recipes", "duckdb-cli-session": "test_duckdb_cli_recipes",
    "python-duckdb": "test_python_duckdb_recipe", "python-pandas": "test_pandas_and_pyarrow_recipes",
    "python-pyarrow": "test_pandas_and_pyarrow_recipes", "python-polars": "test_polars_recipe",
    "python-sqlalchemy": "test_sqlalchemy_recipe", "superset-uri": "test_superset_uri_reflects_the_marts",
    "postgres-roles": "test_postgres_reader_across_two_publications",
    "postgres-publish-env": "test_postgres_reader_across_two_publications",
    "postgres-reader-grants": "test_postgres_reader_across_two_publications",
    "psql-reader": "test_postgres_reader_across_two_publications",
    "python-psycopg": "test_postgres_reader_across_two_publications",
}


def recipes() -> dict[str, str]:
    found = RECIPE.findall(DOC.read_text())
    names = [name for name, _, _ in found]
    assert len(names) == len(set(names)), f"a recipe name is used twice in {DOC}"
    return {name: code for name, _, code in found}


def substitute(code: str, workdir: Path, port: int | None = None, password: str | None = None) -> str:
    """The docs' placeholders replaced by this test's values (nothing else of a recipe changes)."""
    code = code.replace("/absolute/path/to/", f"{workdir}/")
    if port is not None:
        code = code.replace("db.example.org", "127.0.0.1").replace("port=5432", f"port={port}")
        code = code.replace("KPI_PG_PORT=5432", f"KPI_PG_PORT={port}")
    if password is not None:
        code = code.replace("password '...'", f"password '{password}'").replace("KPI_PG_PASSWORD=...", f"KPI_PG_PASSWORD={password}")
    return code


def exported(shell: str) -> dict[str, str]:
    """The variables a block of ``export A=B C=D`` lines sets."""
    variables = {}
    for line in shell.splitlines():
        words = shlex.split(line, comments=True)
        if words[:1] == ["export"]:
            variables.update(word.split("=", 1) for word in words[1:])
    return variables


def run(args: list[str], workdir: Path, env: dict[str, str] | None = None, stdin: str | None = None,
        expect_success: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(args, cwd=workdir, env={**os.environ, **(env or {})}, input=stdin, capture_output=True,
                            text=True, timeout=180)
    if expect_success:
        assert result.returncode == 0, f"{args[:2]} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def run_python(python: Path | str, code: str, workdir: Path, env: dict[str, str] | None = None,
               expect_success: bool = True) -> subprocess.CompletedProcess:
    script = workdir / f"recipe-{secrets.token_hex(4)}.py"
    script.write_text(code)
    return run([str(python), str(script)], workdir, env, expect_success=expect_success)


@pytest.fixture(scope="module")
def workdir(built_warehouse, tmp_path_factory):
    """A directory laid out as the docs assume: ``data/serving`` is the published serving directory."""
    root, _, _ = built_warehouse
    work = tmp_path_factory.mktemp("recipes")
    (work / "data").mkdir()
    (work / "data" / "serving").symlink_to(root / "serving", target_is_directory=True)
    return work


def current_publication_id(workdir: Path) -> str:
    with duckdb.connect(str(workdir / "data" / "serving" / SERVING_FILE), read_only=True) as conn:
        return conn.execute("select publication_id from marts.publication").fetchone()[0]


def test_every_recipe_in_the_docs_is_tested():
    assert set(recipes()) == set(TESTED)
    for test in set(TESTED.values()):
        assert test in globals(), test


def test_the_readme_example_prints_whole_counts(workdir):
    readme = (REPO_ROOT / "README.md").read_text()
    example = next(block for block in re.findall(r"```sh\n(.*?)```", readme, re.S) if "marts.kpi_annual" in block)
    (workdir / ".venv").symlink_to(Path(sys.executable).parent.parent, target_is_directory=True)
    answer = run(["bash", "-c", example], workdir)
    assert "56631.0" in answer.stdout and "31.4424316507577" in answer.stdout  # as the README says it prints
    assert "56631.0" in readme and "31.4424316507577" in readme


def test_duckdb_cli_recipes(workdir):
    bin_dir = client_python("bi").parent  # duckdb-cli==1.5.6 installs the duckdb binary
    env = {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    answer = run(["bash", "-c", recipes()["duckdb-cli"]], workdir, env)
    assert "homicide_rate" in answer.stdout and "31.44" in answer.stdout and "56631.0" in answer.stdout
    session = run(["duckdb", "-readonly", "data/serving/kpi.duckdb"], workdir, env, stdin=recipes()["duckdb-cli-session"])
    assert current_publication_id(workdir) in session.stdout
    assert "31.4" in session.stdout and "homicide_rate" in session.stdout and "improving" in session.stdout


@pytest.mark.parametrize("client", ["project", "duckdb11"])
def test_python_duckdb_recipe(workdir, client):
    python = sys.executable if client == "project" else client_python(client)
    answer = run_python(python, recipes()["python-duckdb"], workdir)
    publication_id, rows, last = answer.stdout.split(" ", 2)
    assert publication_id == current_publication_id(workdir)
    with duckdb.connect(str(workdir / "data" / "serving" / SERVING_FILE), read_only=True) as conn:
        expected = conn.execute("select count(*) from marts.kpi_annual where kpi_id = 'homicide_rate'").fetchone()[0]
    assert int(rows) == expected and last.startswith("('SLV', ")


def test_pandas_and_pyarrow_recipes(workdir):
    marts = sorted(p.stem for p in (workdir / "data" / "serving" / "parquet").iterdir())
    assert {"kpi_annual", "kpi_scorecard", "dim_kpi"} <= set(marts)
    with duckdb.connect(str(workdir / "data" / "serving" / SERVING_FILE), read_only=True) as conn:
        honduras, since_2015 = conn.execute("select count(*), count(*) filter (where year >= 2015) from marts.kpi_annual "
                                            "where country_iso3 = 'HND'").fetchone()
    pandas = run_python(sys.executable, recipes()["python-pandas"], workdir)
    rows, listed = pandas.stdout.split(" ", 1)
    assert int(rows) == honduras and listed.startswith(str(marts)) and "status" in listed
    pyarrow = run_python(sys.executable, recipes()["python-pyarrow"], workdir)
    rows, listed = pyarrow.stdout.split(" ", 1)
    assert int(rows) == since_2015 and listed.strip() == str(marts)


def test_polars_recipe(workdir):
    answer = run_python(client_python("bi"), recipes()["python-polars"], workdir)
    assert "89475" in answer.stdout and "'kpi_annual'" in answer.stdout  # visas issued to Hondurans, FY2023


@pytest.mark.parametrize("client", ["bi", "superset"])  # SQLAlchemy 2.0.58 and 1.4.54
def test_sqlalchemy_recipe(workdir, client):
    answer = run_python(client_python(client), recipes()["python-sqlalchemy"], workdir)
    assert "('border_encounters', 2024" in answer.stdout and "'value', 'unit'" in answer.stdout


def test_sqlalchemy_2_1_column_reflection_fails_as_documented(workdir):
    """The limit the docs state: when this stops failing, update docs/serving.md's Version limits."""
    answer = run_python(client_python("sqlalchemy21"), recipes()["python-sqlalchemy"], workdir,
                        expect_success=False)
    assert answer.returncode != 0 and 'Referenced table "pg_catalog.pg_collation" not found' in answer.stderr, answer.stderr[-2000:]
    assert "SQLAlchemy 2.1 (2.1.9): queries work but column reflection fails" in DOC.read_text()


SUPERSET_REFLECTION = """
import sys
from sqlalchemy import create_engine, inspect, text
engine = create_engine(open(sys.argv[1]).read().strip())
inspector = inspect(engine)
assert any(name.split(".")[-1] == "marts" for name in inspector.get_schema_names()), inspector.get_schema_names()
tables = inspector.get_table_names(schema="marts")
columns = [c["name"] for c in inspector.get_columns("kpi_scorecard", schema="marts")]
with engine.connect() as conn:
    rows = conn.execute(text("select count(*) from marts.kpi_annual")).scalar()
print(sorted(tables), columns, rows)
"""


@pytest.mark.parametrize("client", ["superset", "bi"])
def test_superset_uri_reflects_the_marts(workdir, client):
    """What Superset does with the URI: reflect schemas, tables and columns, then query."""
    uri = workdir / "superset-uri.txt"
    uri.write_text(substitute(recipes()["superset-uri"], workdir))
    assert uri.read_text().startswith(f"duckdb:///{workdir}/data/serving/kpi.duckdb")
    script = workdir / "superset_reflection.py"
    script.write_text(SUPERSET_REFLECTION)
    answer = run([str(client_python(client)), str(script), str(uri)], workdir)
    assert "'kpi_annual'" in answer.stdout and "'status'" in answer.stdout


OLD_DOCS_GRANTS = """
grant usage on schema marts to kpi_reader_old;
alter default privileges for role kpi_publisher grant select on tables to kpi_reader_old;
"""


def test_postgres_reader_across_two_publications(workdir, built_warehouse, tmp_path):
    _, build_env, _ = built_warehouse
    password = secrets.token_urlsafe(12)
    cluster = start_cluster()
    try:
        port = cluster.port

        def psql(database: str, user: str, sql: str, expect_success: bool = True) -> subprocess.CompletedProcess:
            secret = cluster.password if user == PG_SUPERUSER else password
            # statements from stdin, one by one, as at psql's prompt (create database refuses a transaction)
            return run(["psql", f"host=127.0.0.1 port={port} dbname={database} user={user}", "-v", "ON_ERROR_STOP=1",
                        "-X", "-q"], workdir, {"PGPASSWORD": secret}, stdin=sql, expect_success=expect_success)

        docs = {name: substitute(code, workdir, port, password) for name, code in recipes().items()}
        psql("postgres", PG_SUPERUSER, docs["postgres-roles"])
        psql("postgres", PG_SUPERUSER, "create role kpi_reader_old login password '{}'".format(password))  # the control
        publisher_env = exported(docs["postgres-publish-env"])
        assert publisher_env["KPI_PG_USER"] == "kpi_publisher" and publisher_env["KPI_PUBLISH_POSTGRES"] == "1"
        target = PostgresTarget.from_env(publisher_env)
        settings = load_settings({**build_env, "KPI_SERVING_DIR": str(tmp_path / "serving")})

        first = publish(settings, postgres=target)["publication_id"]
        psql("kpi_serving", "kpi_publisher", docs["postgres-reader-grants"])
        psql("kpi_serving", "kpi_publisher", OLD_DOCS_GRANTS)
        bi_python = client_python("bi")
        reader_env = {"PGPASSWORD": password}
        for expected in (first, None):
            if expected is None:  # the next publication replaces the schema: the reader keeps reading
                expected = publish(settings, postgres=target)["publication_id"]
                assert expected != first
            answer = run(["bash", "-c", docs["psql-reader"]], workdir, reader_env)
            assert expected in answer.stdout, answer.stdout
            answer = run_python(bi_python, docs["python-psycopg"], workdir, reader_env)
            assert answer.stdout.startswith(expected) and "('border_encounters', 2023, 180660.0)" in answer.stdout
        # the control: the grants the docs used to give lose the schema with the swap
        locked_out = psql("kpi_serving", "kpi_reader_old", "select publication_id from marts.publication", expect_success=False)
        assert locked_out.returncode != 0 and "permission denied for schema marts" in locked_out.stderr, locked_out.stderr
    finally:
        cluster.stop()
