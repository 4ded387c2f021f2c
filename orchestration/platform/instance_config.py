"""``$DAGSTER_HOME/dagster.yaml`` follows the repository's ``dagster.yaml``.

Before 0.2.0 the file was copied into DAGSTER_HOME only when it had none, so a later change to
it (run retries, the pooled instance storage) never reached an existing installation. Now every
CLI run and ``make dev`` installs the repository's file when the one in DAGSTER_HOME is missing or
is an earlier version of it (recognised by its sha256 below; the replaced file is kept beside it
and the change is said). A file of the operator's own (e.g. ``deploy/dagster-postgres.yaml`` of a
PostgreSQL deployment) is left alone.

    python -m orchestration.platform.instance_config $DAGSTER_HOME    # what `make dev` runs
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

from orchestration.core.settings import PROJECT_ROOT
from orchestration.core.version import project_version

REPOSITORY_CONFIG = PROJECT_ROOT / "dagster.yaml"
# sha256 of every earlier version of the repository's dagster.yaml (`git log -- dagster.yaml`);
# when you change the file, add the sha256 of the version you replace (tests/unit/test_upgrade.py
# checks that every version in the history is here)
EARLIER_CONFIGS = frozenset({
    "3f43df39d6fcfcc96a098d0e738255cd8ab7c3a79106385e5d7994ebfadc0377",  # d82101c
    "7dfde730deec51475ae229f225622c8563ad1f238164ace947c81baed9dcadf0",  # 39321f5
    "fb2de0ffce1685cf0d4a18654deef85f8689fcae682d735634c0bc68d754a8bc",  # bea4331
    "50b7a909eb82ea76f2f6ee5b1679bed21d9ebaac2b2086a60be7fe4321579990",  # 95afc5c (0.1.0)
    "17d6da439c45ff9f2bc604b5192149ea6240be75b8e81c2fa5b4eeaa4a4dc818",  # 61df8f3 (the stage packages)
    "d6df0f7488b2df0ec7f0cea451590ca9ea22b8c6e83c6c27cb45626158b6b769",  # dcc0bfc (issue 25's branch)
})


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def install_instance_config(home: Path) -> str | None:
    """Make ``home/dagster.yaml`` the repository's when it is missing or an earlier version of it;
    returns what was done (None: nothing to do, or a file of the operator's own, left alone)."""
    home.mkdir(parents=True, exist_ok=True)
    target = home / "dagster.yaml"
    wanted = REPOSITORY_CONFIG.read_bytes()
    if target.is_file():
        present = target.read_bytes()
        if present == wanted or _sha256(present) not in EARLIER_CONFIGS:
            return None
        kept = home / f"dagster.yaml.before-{project_version()}"
        kept.write_bytes(present)
        done = f"{target} was an earlier version of the repository's dagster.yaml: replaced by {REPOSITORY_CONFIG} (the old one kept as {kept.name})"
    else:
        done = f"{target} installed from {REPOSITORY_CONFIG}"
    partial = target.with_name(".dagster.yaml.partial")
    partial.write_bytes(wanted)
    os.replace(partial, target)  # a Dagster process starting meanwhile reads the old file or the new one
    return done


if __name__ == "__main__":  # python -m orchestration.platform.instance_config <DAGSTER_HOME>
    message = install_instance_config(Path(sys.argv[1]))
    if message:
        print(message, file=sys.stderr)
