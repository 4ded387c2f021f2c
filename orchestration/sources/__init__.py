"""One package per source (``orchestration/sources/<name>/``): its SPEC, live fetch, parser and checks.

Everything that needs every source (the loading assets, freshness, settings) calls ``discover``;
no other module names them, so a new source is a new package here (plus its suites, its dbt
folder and its rows in the KPI seed) and nothing else changes.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from orchestration.sources.contract import SourceSpec


def source_package_names() -> list[str]:
    """Every source package under orchestration/sources, by name (the shared modules are not packages)."""
    return sorted(info.name for info in pkgutil.iter_modules(__path__) if info.ispkg)


@lru_cache(maxsize=1)
def discover() -> tuple["SourceSpec", ...]:
    """The SPEC of every source package, in name order; a package without a SPEC is an error."""
    specs = []
    for name in source_package_names():
        package = importlib.import_module(f"{__name__}.{name}")
        spec = getattr(package, "SPEC", None)
        if spec is None:
            raise ImportError(f"orchestration/sources/{name}/__init__.py defines no SPEC")
        if spec.name != name:
            raise ImportError(f"orchestration/sources/{name}: SPEC.name is {spec.name!r}; it must be the package's name")
        problems = spec.plausibility.problems([dataset.name for dataset in spec.datasets])
        if problems:
            raise ImportError(f"orchestration/sources/{name}: its plausibility declaration is incomplete: " + "; ".join(problems))
        specs.append(spec)
    datasets = [dataset.name for spec in specs for dataset in spec.datasets]
    duplicated = sorted({name for name in datasets if datasets.count(name) > 1})
    if duplicated:
        raise ImportError(f"raw dataset(s) {duplicated} declared by more than one source")
    return tuple(specs)
