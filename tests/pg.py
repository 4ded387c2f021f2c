"""A throwaway PostgreSQL cluster for tests: initdb + pg_ctl as a non-root user, a temp dir, a free port.

The server binaries (PostgreSQL 15) are on the machine but nothing runs; tests start their own
cluster and stop it at teardown. PostgreSQL refuses to run as root, so under root (CI) the cluster
belongs to a dedicated system user, created when absent.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PG_SYSTEM_USER = "kpi_pg"
PG_SUPERUSER = "kpi"
PG_DATABASE = "kpi_warehouse"


def pg_bin(name: str) -> str:
    """A PostgreSQL server binary: PATH first, then Debian's versioned directory."""
    found = shutil.which(name)
    if found:
        return found
    for version_dir in sorted(Path("/usr/lib/postgresql").glob("*"), reverse=True):
        candidate = version_dir / "bin" / name
        if candidate.is_file():
            return str(candidate)
    raise FileNotFoundError(f"PostgreSQL binary {name!r} not found on PATH or under /usr/lib/postgresql/*/bin")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ensure_system_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(PG_SYSTEM_USER)
    except KeyError:
        added = subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", PG_SYSTEM_USER],
                               capture_output=True, text=True)
        try:  # another xdist worker may have created it first (useradd then fails: it exists)
            return pwd.getpwnam(PG_SYSTEM_USER)
        except KeyError:
            raise RuntimeError(f"useradd {PG_SYSTEM_USER} failed: {added.stderr.strip()}") from None


@dataclass
class PostgresCluster:
    root: Path
    port: int
    password: str
    run_as: pwd.struct_passwd | None

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def env(self) -> dict[str, str]:
        """The KPI_PG_* settings that point dbt and the publisher at this cluster."""
        return {
            "KPI_PG_HOST": "127.0.0.1",
            "KPI_PG_PORT": str(self.port),
            "KPI_PG_USER": PG_SUPERUSER,
            "KPI_PG_PASSWORD": self.password,
            "KPI_PG_DATABASE": PG_DATABASE,
        }

    def connect(self, database: str = PG_DATABASE):
        import psycopg2

        return psycopg2.connect(host="127.0.0.1", port=self.port, user=PG_SUPERUSER, password=self.password, dbname=database)

    def create_databases(self, *names: str) -> None:
        conn = self.connect()
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                for name in names:
                    cur.execute(f"CREATE DATABASE {name}")
        finally:
            conn.close()

    def _run(self, args: list[str]) -> subprocess.CompletedProcess:
        if self.run_as is not None:
            args = ["runuser", "-u", self.run_as.pw_name, "--", *args]
        return subprocess.run(args, check=True, capture_output=True, text=True, cwd=self.root)

    def start(self) -> None:
        pwfile = self.root / "pwfile"
        pwfile.write_text(self.password + "\n")
        if self.run_as is not None:
            os.chown(pwfile, self.run_as.pw_uid, self.run_as.pw_gid)
        try:
            self._run([pg_bin("initdb"), "-D", str(self.data_dir), "-U", PG_SUPERUSER, "--pwfile", str(pwfile),
                       "--auth=scram-sha-256", "--encoding=UTF8", "--locale=C.UTF-8"])
        finally:
            pwfile.unlink()
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off -c full_page_writes=off"
        self._run([pg_bin("pg_ctl"), "-D", str(self.data_dir), "-o", options, "-l", str(self.root / "server.log"),
                   "-w", "-t", "60", "start"])
        conn = self.connect("postgres")
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(f"CREATE DATABASE {PG_DATABASE}")
        finally:
            conn.close()

    def stop(self) -> None:
        try:
            self._run([pg_bin("pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"])
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def start_cluster() -> PostgresCluster:
    run_as = _ensure_system_user() if os.geteuid() == 0 else None
    # not under pytest's tmp_path: that is private to root (0700), the server user must reach its dir
    root = Path(tempfile.mkdtemp(prefix="kpi-pg-"))
    if run_as is not None:
        os.chown(root, run_as.pw_uid, run_as.pw_gid)
    cluster = PostgresCluster(root=root, port=free_port(), password=secrets.token_urlsafe(18), run_as=run_as)
    try:
        cluster.start()
    except subprocess.CalledProcessError as exc:
        log = (root / "server.log").read_text() if (root / "server.log").is_file() else ""
        _stop_quietly(cluster)
        raise RuntimeError(f"could not start PostgreSQL: {exc.stderr}\n{log}") from exc
    except BaseException:
        _stop_quietly(cluster)
        raise
    return cluster


@contextlib.contextmanager
def running_cluster(*databases: str) -> Iterator[PostgresCluster]:
    """A fresh PostgreSQL server with ``databases`` created, stopped and removed afterwards."""
    cluster = start_cluster()
    try:
        if databases:
            cluster.create_databases(*databases)
        yield cluster
    finally:
        cluster.stop()


def _stop_quietly(cluster: PostgresCluster) -> None:
    try:
        cluster.stop()
    except subprocess.CalledProcessError:
        shutil.rmtree(cluster.root, ignore_errors=True)
