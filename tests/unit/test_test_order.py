"""The suite starts its longest tests first (tests/conftest.py LONG_RUNNING_FIRST), so that the two
xdist workers end together: a stale name there would silently send a long test back to the end."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.conftest import LONG_RUNNING_FIRST, REPO_ROOT, long_running_rank


def test_every_long_running_prefix_names_tests_that_exist():
    for prefix in LONG_RUNNING_FIRST:
        path, _, name = prefix.partition("::")
        module = REPO_ROOT / path
        assert module.is_file(), f"LONG_RUNNING_FIRST: {path} does not exist"
        if name:
            assert re.search(rf"^def {re.escape(name)}", module.read_text(), re.MULTILINE), \
                f"LONG_RUNNING_FIRST: no test in {path} starts with {name}"


def test_the_collection_starts_with_the_long_tests_and_keeps_each_modules_order():
    modules = ["tests/integration/test_accept_shrink.py", "tests/integration/test_writers.py",
               "tests/integration/test_upgrades.py"]
    collected = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", *modules],
                               cwd=REPO_ROOT, capture_output=True, text=True)
    assert collected.returncode == 0, collected.stdout[-3000:] + collected.stderr[-3000:]
    order = [line for line in collected.stdout.splitlines() if "::" in line]
    ranks = [long_running_rank(nodeid) for nodeid in order]
    assert ranks == sorted(ranks), order
    # the upgrades first (PostgreSQL, then DuckDB), the writers next, the rest after, each in file order
    assert order[0].startswith(LONG_RUNNING_FIRST[1]), order
    by_module = {module: [nodeid for nodeid in order if nodeid.startswith(module)] for module in modules}
    writers_at = order.index(by_module["tests/integration/test_writers.py"][0])
    assert all(long_running_rank(nodeid) < len(LONG_RUNNING_FIRST) for nodeid in order[:writers_at])
    rest = [nodeid for nodeid in order if long_running_rank(nodeid) == len(LONG_RUNNING_FIRST)]
    assert rest == order[len(order) - len(rest):]
    assert rest == by_module[modules[0]] + [nodeid for nodeid in by_module[modules[2]] if nodeid in rest]  # as given
    assert "test_a_warehouse_of_a_newer_version_is_refused_by_the_cli_before_anything_is_written" in rest[-1]
    file_order = [name for name in re.findall(r"^def (test_\w+)", (REPO_ROOT / modules[1]).read_text(), re.MULTILINE)]
    assert [nodeid.split("::")[1] for nodeid in by_module[modules[1]]] == file_order
