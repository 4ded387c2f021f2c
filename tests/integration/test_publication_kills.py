"""Promise 35, as stated: a publication is one unit, whatever step a SIGKILL lands on.

A real process publishes the built warehouse's marts (``orchestration.publish.publication.publish``) and
kills itself with SIGKILL at the boundary of one step (after the candidate's data, after its docs, after
its report, before its record, right before the switch): no exception handler or ``finally`` runs, as
with a kill from outside. After each kill, what readers reach through the stable names is the last good
publication, whole; the killed candidate is unreachable; right before the switch, the candidate already
holds its report (built before the switch, not after). The next publication removes what the kill left
and becomes current.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from orchestration.config import load_settings
from orchestration.publish.publication import (PUBLICATION_FILE, RELEASES_DIR, REPORT_FILE, SERVING_FILE,
                                               current_publication, publish)
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.integration

STABLE = (SERVING_FILE, "parquet", "docs", REPORT_FILE, PUBLICATION_FILE)

# The publishing process: each step of publish() wrapped so that the process SIGKILLs itself at the chosen
# boundary. Only the kill is injected; every step runs as in a real run.
PUBLISHER = """
import os, signal, sys
import orchestration.publish.publication as publication
from orchestration.config import load_settings

where = sys.argv[1]

def kill_after(name):
    step = getattr(publication, name)
    def wrapped(*args, **kwargs):
        result = step(*args, **kwargs)
        print(f"killing after {name}", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    setattr(publication, name, wrapped)

def kill_before(name, when=lambda *args: True):
    step = getattr(publication, name)
    def wrapped(*args, **kwargs):
        if when(*args):
            print(f"killing before {name}", flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
        return step(*args, **kwargs)
    setattr(publication, name, wrapped)

if where == "before_record":
    kill_before("_write_atomically", when=lambda path, text: path.name == publication.PUBLICATION_FILE)
elif where == "before_switch":
    kill_before("_switch")
else:
    kill_after(where)
publication.publish(load_settings())
print("published: the kill was not reached", flush=True)
"""

KILL_POINTS = ["_build_candidate", "_write_docs", "_write_report", "before_record", "before_switch"]


def what_readers_see(serving: Path) -> dict:
    """Every stable name as a reader opens it: where it leads, and the publication inside the DuckDB file."""
    seen = {name: (serving / name).resolve() for name in STABLE}
    with duckdb.connect(str(serving / SERVING_FILE), read_only=True) as connection:
        seen["marts.publication"] = connection.execute("select publication_id from marts.publication").fetchone()[0]
        seen["tables"] = connection.execute("select count(*) from duckdb_tables() where schema_name = 'marts'").fetchone()[0]
    seen["publication.json"] = json.loads((serving / PUBLICATION_FILE).read_text())["publication_id"]
    return seen


@pytest.fixture(scope="module")
def published(built_warehouse, tmp_path_factory):
    root, env, _ = built_warehouse
    serving = tmp_path_factory.mktemp("kills") / "serving"
    env = {**env, "KPI_SERVING_DIR": str(serving)}
    first = publish(load_settings(env))
    return env, serving, first


@pytest.mark.parametrize("where", KILL_POINTS)
def test_a_publish_sigkilled_at_any_step_changes_nothing_readers_see(published, where):
    env, serving, first = published
    before = what_readers_see(serving)
    assert before["marts.publication"] == before["publication.json"] == current_publication(serving)["publication_id"]
    releases_before = {path.name for path in (serving / RELEASES_DIR).iterdir()}
    killed = subprocess.run([sys.executable, "-c", PUBLISHER, where], cwd=REPO_ROOT, env={**os.environ, **env},
                            capture_output=True, text=True, timeout=600)
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr[-3000:]
    assert "killing" in killed.stdout
    assert what_readers_see(serving) == before
    left = {path.name for path in (serving / RELEASES_DIR).iterdir()} - releases_before
    assert len(left) == 1, left  # the killed candidate: written beside the live one, not in its place
    candidate = serving / RELEASES_DIR / left.pop()
    if where == "before_switch":
        # the whole unit was ready before the switch: data, Parquet, docs, the report and the record
        assert (candidate / REPORT_FILE).stat().st_size > 0
        assert json.loads((candidate / PUBLICATION_FILE).read_text())["report"]["file"] == REPORT_FILE
        assert sorted(path.name for path in (candidate / "parquet").iterdir())
    # the next publication removes what the kill left and becomes current
    record = publish(load_settings(env))
    assert not candidate.exists()
    after = what_readers_see(serving)
    assert after["marts.publication"] == after["publication.json"] == record["publication_id"]
    assert after[SERVING_FILE].parent.name == record["publication_id"]
