"""Warehouses and publications built by earlier versions of this repository, for the upgrade tests.

Each earlier version is the repository's tree at a commit (``git archive``: the same files as a
``git worktree`` of it, without registering a worktree in the clone's shared .git), run with the
current .venv exactly as a user ran it (`make run`: ``python -m orchestration.cli run`` in its own
checkout, on the snapshot it shipped). Built once per commit, engine and lock of that .venv, in the
machine's test cache (``~/.cache/kpi-warehouse-tests/upgrades/``, conftest ``machine_cache_dir``):
the commit's files and the installed packages are all it depends on, so every later test run, and
every other clone on the machine, reuses it; a machine's first run builds each (one to two minutes).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

from tests.conftest import REPO_ROOT, machine_cache_dir, made_once, warehouse_env

CACHE_DIR = machine_cache_dir("upgrades")


def export_commit(commit: str, target: Path) -> None:
    """The repository's files at ``commit`` in ``target``."""
    archive = target.parent / f"{target.name}.tar"
    try:
        with open(archive, "wb") as out:
            subprocess.run(["git", "archive", "--format=tar", commit], cwd=REPO_ROOT, stdout=out, check=True)
    except subprocess.CalledProcessError as exc:
        raise RuntimeError(f"commit {commit} is not in this clone (a shallow clone? fetch the history: "
                           "git fetch --unshallow)") from exc
    with tarfile.open(archive) as tar:
        tar.extractall(target, filter="tar")
    archive.unlink()


def clean_environment(**settings: str) -> dict[str, str]:
    """This process's environment without any KPI_* or DAGSTER_HOME of its own, plus ``settings``."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("KPI_") and name != "DAGSTER_HOME"}
    env.update(DBT_SEND_ANONYMOUS_USAGE_STATS="false", DAGSTER_DISABLE_TELEMETRY="true", **settings)
    return env


def run_env(root: Path, **overrides: str) -> dict[str, str]:
    """Settings of a warehouse, publication and Dagster instance entirely under ``root``."""
    return {**warehouse_env(root), "DAGSTER_HOME": str(root / "dagster_home"), "KPI_LOG_DIR": str(root / "logs"),
            **overrides}


def cli(checkout: Path, env: dict[str, str], *args: str) -> tuple[subprocess.CompletedProcess, float]:
    """``python -m orchestration.cli <args>`` in ``checkout`` (its own code: the working directory
    comes first on the module path); the result and its wall time in seconds."""
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "orchestration.cli", *args], cwd=checkout, env=clean_environment(**env),
                            capture_output=True, text=True, timeout=1800)
    return result, time.monotonic() - started


def venv_digest() -> str:
    """What the earlier version ran with besides its own files: the packages of requirements.lock on
    this Python (a lock change may change what it built: a new key, built again)."""
    digest = hashlib.sha256(REPO_ROOT.joinpath("requirements.lock").read_bytes()).hexdigest()[:12]
    return f"{digest}-py{sys.version_info.major}{sys.version_info.minor}"


def earlier_build(commit: str, make_build=None, engine: str = "duckdb") -> Path:
    """``<CACHE_DIR>/<commit>[-<engine>]-<venv_digest>/``: ``source/`` (the tree) and ``build/`` (its
    `make run`: warehouse, serving, dagster_home), made once per commit, engine and venv for every
    process that asks, on this machine."""

    def make(target: Path) -> None:
        export_commit(commit, target / "source")
        build = target / "build"
        build.mkdir()
        (make_build or _duckdb_build)(target / "source", build)

    name = commit if engine == "duckdb" else f"{commit}-{engine}"
    return made_once(CACHE_DIR / f"{name}-{venv_digest()}", make)


def _duckdb_build(source: Path, build: Path) -> None:
    env = run_env(build, KPI_SNAPSHOT_DIR=str(source / "snapshot"))  # the snapshot that version shipped
    result, seconds = cli(source, env, "run")
    assert result.returncode == 0, f"the earlier version's `make run` failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    (build / "build-seconds.txt").write_text(f"{seconds:.1f}\n")


def copy_build(build: Path, root: Path, parts: tuple[str, ...] = ("warehouse", "serving", "dagster_home")) -> None:
    """An earlier version's build copied under ``root``, as that user's installation was."""
    for part in parts:
        if (build / part).exists():
            shutil.copytree(build / part, root / part, symlinks=True)  # the serving links are relative


# --- PostgreSQL: the earlier version's warehouse kept as a pg_dump of its database ----------------

PG_DUMP_FILE = "warehouse.pgdump"


def postgres_build(source: Path, build: Path) -> None:
    """The earlier version's `make run` with KPI_WAREHOUSE=postgres, in a throwaway cluster; its
    database is kept as ``build/warehouse.pgdump`` (pg_dump's custom format)."""
    from tests.pg import PG_DATABASE, PG_SUPERUSER, pg_bin, start_cluster

    cluster = start_cluster()
    try:
        env = run_env(build, KPI_SNAPSHOT_DIR=str(source / "snapshot"), KPI_WAREHOUSE="postgres", **cluster.env())
        result, seconds = cli(source, env, "run")
        assert result.returncode == 0, f"the earlier version's `make run` failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        (build / "build-seconds.txt").write_text(f"{seconds:.1f}\n")
        subprocess.run([pg_bin("pg_dump"), "--format=custom", "--no-owner", "-h", "127.0.0.1", "-p", str(cluster.port),
                        "-U", PG_SUPERUSER, "-f", str(build / PG_DUMP_FILE), PG_DATABASE],
                       env={**os.environ, "PGPASSWORD": cluster.password}, check=True, capture_output=True)
    finally:
        cluster.stop()


def restore_postgres_build(build: Path, cluster) -> None:
    """The earlier version's warehouse database restored into ``cluster``'s (empty) warehouse database."""
    from tests.pg import PG_DATABASE, PG_SUPERUSER, pg_bin

    restored = subprocess.run([pg_bin("pg_restore"), "--no-owner", "-h", "127.0.0.1", "-p", str(cluster.port),
                               "-U", PG_SUPERUSER, "-d", PG_DATABASE, str(build / PG_DUMP_FILE)],
                              env={**os.environ, "PGPASSWORD": cluster.password}, capture_output=True, text=True)
    assert restored.returncode == 0, restored.stderr
