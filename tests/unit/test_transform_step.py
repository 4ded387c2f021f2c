"""What a transform rebuilds: the sources that changed since the live publication, and the dbt
nodes downstream of them, which dbt's own selection finds (orchestration/transform/plan.py), on the
project's own manifest."""

from __future__ import annotations

import json

import pytest

from orchestration.transform.manifest import ensure_manifest
from orchestration.transform.plan import changed_sources, every_source_selector, source_selection
from orchestration.load.warehouse import LoadRecord


EVERY_SOURCE = {"alpha", "beta", "gamma"}


def load(source: str, seq: int) -> LoadRecord:
    return LoadRecord(source, f"load-{seq}", seq, 2000, 2026, True, ())


def test_the_sources_with_loads_since_the_publication_changed():
    publication = {"transform_fingerprint": "abc"}
    assert changed_sources(publication, [load("beta", 7), load("beta", 8)], "abc", EVERY_SOURCE) == {"beta"}
    assert changed_sources(publication, [load("alpha", 7), load("beta", 8)], "abc", EVERY_SOURCE) == {"alpha", "beta"}


@pytest.mark.parametrize("publication, pending, why", [
    (None, [load("alpha", 1)], "never published"),
    ({"transform_fingerprint": "old"}, [load("alpha", 1)], "a changed dbt project"),
    ({"transform_fingerprint": "abc"}, [], "nothing pending: a transform asked for by hand"),
    ({"transform_fingerprint": "abc"}, [load("alpha", 1), load("gamma", 2), load("beta", 3)], "every source: a full build"),
])
def test_everything_is_rebuilt(publication, pending, why):
    assert changed_sources(publication, pending, "abc", EVERY_SOURCE) is None, why


def test_selection_is_dbts_own_graph_selection():
    assert source_selection(frozenset({"beta", "alpha"})) == ["--select", "source:alpha+", "source:beta+"]
    assert every_source_selector({"beta", "alpha"}) == "source:alpha+,source:beta+,resource_type:model"
    assert source_selection(frozenset()) == ["--select"]  # changed_sources never asks for it: None means everything


def test_every_dataset_of_every_source_is_a_dbt_source_under_the_sources_name():
    """``source:<name>+`` finds a source's models only through the dbt sources named after it."""
    from orchestration.sources import discover

    manifest = json.loads(ensure_manifest().read_text())
    declared = {(source["source_name"], source["name"]) for source in manifest["sources"].values()}
    for spec in discover():
        for dataset in spec.datasets:
            assert (spec.name, dataset.name) in declared, f"{spec.name}.{dataset.name}: declare it in the source's dbt YAML"


def test_in_the_project_every_source_rebuilds_kpi_annual_and_the_scorecard():
    from orchestration.platform.publish_assets import models_every_build_rebuilds
    from orchestration.sources import discover
    from orchestration.transform.dbt_runner import list_nodes

    names = {key.path[-1] for key in models_every_build_rebuilds()}
    assert {"kpi_annual", "kpi_scorecard", "kpi_lineage"} <= names
    assert not [name for name in names if name.startswith(("stg_", "int_", "fct_"))], names
    specs = list(discover())
    for spec in specs:
        rebuilt = list_nodes(source_selection(frozenset({spec.name})), ("model", "seed", "snapshot"))
        assert any(f"stg_{spec.name}__" in unique_id for unique_id in rebuilt), spec.name
        assert {"model.kpi_warehouse.kpi_annual", "model.kpi_warehouse.kpi_scorecard"} <= set(rebuilt), spec.name
        others = {other.name for other in specs} - {spec.name}
        # no other source's staging model is rebuilt (their inputs did not change)
        assert not [unique_id for unique_id in rebuilt
                    if unique_id.startswith("model.") and any(f"stg_{other}__" in unique_id for other in others)], spec.name
