"""Promise 31's last clause, as stated: readers of the serving copy never wait for a writer.

A real publishing process holds the warehouse's writer lock (as every run's publishing step does) and
stops in the middle of its publication, while the audit has the live publication and the candidate
open. Meanwhile a BI tool's query, from a process of its own with a read-only DuckDB connection on the
stable name ``kpi.duckdb``, answers from the last publication. That the reader did not wait for the
writer is shown by the order of events, not by a clock: the reader finished while the writer still
held the lock and had not gone on (it goes on only when the test says so, after the reader is done).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from orchestration.load.lock import current_holder
from orchestration.publish.publication import current_publication
from tests.conftest import REPO_ROOT, copy_of_built

pytestmark = pytest.mark.integration

# The writer: holds the lock, publishes, and stops inside the audit (both publications attached) until
# the test creates the file named by argv[1]. Only the stop is injected; every step runs as in a run.
PUBLISHER = """
import sys, time
from pathlib import Path
import orchestration.publish.audit as audit
import orchestration.publish.publication as publication
from orchestration.config import load_settings
from orchestration.load.lock import warehouse_writer

go = Path(sys.argv[1])
lost_rows = audit._lost_rows

def paused(connection, *arguments):
    print("auditing: both publications open", flush=True)
    while not go.exists():
        time.sleep(0.05)
    return lost_rows(connection, *arguments)

audit._lost_rows = paused
settings = load_settings()
with warehouse_writer(settings.warehouse_path, 5, what="a publishing run of the readers test"):
    record = publication.publish(settings)
print("published", record["publication_id"], flush=True)
"""

# The reader: what a BI tool does, in a process of its own.
READER = """
import json, sys
import duckdb
with duckdb.connect(sys.argv[1], read_only=True) as connection:
    publication_id = connection.execute("select publication_id from marts.publication").fetchone()[0]
    rows = connection.execute("select count(*) from marts.kpi_annual").fetchone()[0]
print(json.dumps({"publication_id": publication_id, "kpi_annual_rows": rows}))
"""


def read_as_a_bi_tool(serving: Path) -> dict:
    # the timeout only keeps a reader that blocks from hanging the suite; the assertions are on order
    result = subprocess.run([sys.executable, "-c", READER, str(serving / "kpi.duckdb")], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout)


def test_a_reader_gets_the_last_publication_while_a_writer_holds_the_lock_mid_publication(built_warehouse, tmp_path):
    env = {**os.environ, **copy_of_built(built_warehouse, tmp_path)}
    serving = Path(env["KPI_SERVING_DIR"])
    warehouse = Path(env["KPI_WAREHOUSE_PATH"])
    before = read_as_a_bi_tool(serving)
    assert before["publication_id"] == current_publication(serving)["publication_id"]
    go = tmp_path / "go"
    writer = subprocess.Popen([sys.executable, "-c", PUBLISHER, str(go)], cwd=REPO_ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        line = writer.stdout.readline()
        assert line.startswith("auditing"), line + writer.stdout.read()[-3000:]
        holder = current_holder(warehouse)
        assert holder is not None and holder["pid"] == writer.pid

        during = read_as_a_bi_tool(serving)

        # the reader is done, and the writer still holds the lock, stopped where it was
        assert writer.poll() is None
        assert current_holder(warehouse)["pid"] == writer.pid
        assert during == before
    finally:
        go.touch()
        output, _ = writer.communicate(timeout=300)
    assert writer.returncode == 0, output[-3000:]
    after = read_as_a_bi_tool(serving)
    assert after["publication_id"] != before["publication_id"] and f"published {after['publication_id']}" in output
    assert current_holder(warehouse) is None
