"""The project's version: the one in pyproject.toml, which changes with every change users see
(CHANGELOG.md says what each version changed and what an upgrade does).

The warehouse records the version that last wrote it (``meta.warehouse_versions``, see
orchestration/load/upgrade.py) and every publication records the version that built it
(``publication.json`` and ``marts.publication``).
"""

from __future__ import annotations

import functools
import tomllib

from packaging.version import Version

from orchestration.core.settings import PROJECT_ROOT

# Warehouses built before versions existed (before 0.2.0) record none: they count as this one.
UNVERSIONED = "0.1.0"


@functools.cache
def project_version() -> str:
    """The version in pyproject.toml (the project is run from its checkout, never installed)."""
    with open(PROJECT_ROOT / "pyproject.toml", "rb") as file:
        return tomllib.load(file)["project"]["version"]


def version_key(version: str) -> Version:
    """A version as something to compare (0.10.0 comes after 0.9.0)."""
    return Version(version)
