"""The settings of this deployment: the platform's own and every setting a discovered source declares.

``orchestration.core.settings`` knows no source; the sources declare their settings (base URLs,
file lists) in their SPEC. This is where the two meet, once, for every entry point (the Dagster
code location, the CLI, the executor, schedules and sensors).
"""

from __future__ import annotations

from orchestration.core.settings import Settings
from orchestration.sources import discover


def declared_source_settings():
    return tuple(setting for spec in discover() for setting in spec.settings)


def load_settings(env: dict[str, str] | None = None) -> Settings:
    """Every setting from ``env`` (the process environment by default), validated once."""
    return Settings.from_env(env, declared_source_settings())
