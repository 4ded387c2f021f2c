"""Stand-in publishers for the live-fetch tests: one module per source (``tests/standins/<source>.py``,
whose ``publisher()`` serves that source's real snapshot bytes), found by the same discovery as the
pipeline's, so a new source cannot miss the fault, hostile-publisher and secrets tests: a source
without a stand-in fails them by name. ``scripts/new_source.py`` writes one for a new source."""

from __future__ import annotations

import importlib

from orchestration.sources import discover
from tests.standins.publisher import Publisher


def standin_publishers() -> dict[str, Publisher]:
    """Every discovered source's stand-in publisher, by source name."""
    publishers = {}
    for spec in discover():
        module_name = f"{__name__}.{spec.name}"
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as missing:
            if missing.name != module_name:
                raise
            raise AssertionError(f"source {spec.name} has no stand-in publisher for the live-fetch tests: add "
                                 f"tests/standins/{spec.name}.py with a publisher() (see tests/standins/worldbank.py)") from None
        publisher = module.publisher()
        assert publisher.spec is spec, f"tests/standins/{spec.name}.py serves {publisher.spec.name}, not {spec.name}"
        publishers[spec.name] = publisher
    return publishers
