"""What the private Dagster storage buys: a full build (``python -m orchestration.cli run`` on the
bundled snapshot, a fresh work directory each time) with the repository's ``dagster.yaml`` (pooled,
batched SQLite event log: orchestration/platform/instance_storage.py) against the same file with
Dagster's stock ``storage: sqlite``, alternating, so both see the same machine.

    .venv/bin/python bench/framework_internals.py [--rounds 2]

The figure goes into orchestration/platform/dagster_internals.py's docstring; run by hand, never in
the test suite.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import PROJECT_ROOT, print_rows, run_cli, work_root  # noqa: E402

BUNDLED_SNAPSHOT = PROJECT_ROOT / "snapshot"
STOCK_STORAGE = "storage:\n  sqlite:\n    base_dir:\n      env: DAGSTER_HOME\n"


def stock_storage_config(config: str) -> str:
    """The repository's dagster.yaml with its custom storage block replaced by Dagster's own."""
    replaced, count = re.subn(r"^storage:\n(?:[ #].*\n?)+", STOCK_STORAGE, config, flags=re.MULTILINE)
    if count != 1:
        raise ValueError("dagster.yaml has no top-level storage block to replace")
    return replaced


def full_build(instance_config: str) -> float:
    with work_root("kpi-bench-internals-") as root:
        home = root / "dagster_home"
        home.mkdir(parents=True)
        (home / "dagster.yaml").write_text(instance_config)
        run = run_cli(BUNDLED_SNAPSHOT, root, ["run"])
        if run.returncode != 0:
            raise RuntimeError(f"full build failed:\n{run.stdout[-2000:]}\n{run.stderr[-2000:]}")
        if (home / "dagster.yaml").read_text() != instance_config:
            raise RuntimeError("the CLI replaced the benchmark's dagster.yaml; the comparison would be void")
        return run.seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    repository_config = (PROJECT_ROOT / "dagster.yaml").read_text()
    configs = {"pooled storage (dagster.yaml)": repository_config, "stock storage: sqlite": stock_storage_config(repository_config)}
    seconds: dict[str, list[float]] = {name: [] for name in configs}
    for _ in range(args.rounds):
        for name, config in configs.items():
            seconds[name].append(full_build(config))
    print_rows(["instance storage", "full builds (s)", "median (s)"],
               [[name, " ".join(f"{value:.1f}" for value in values), round(statistics.median(values), 1)]
                for name, values in seconds.items()])
    return 0


if __name__ == "__main__":
    sys.exit(main())
