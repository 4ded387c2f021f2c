"""What a transform rebuilds: the sources that changed since the live publication, and the dbt
nodes downstream of them (orchestration/transform/plan.py), on a small manifest of dbt's shape and
on the project's own manifest."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from orchestration.transform.manifest import ensure_manifest
from orchestration.transform.plan import (
    changed_sources, dbt_select_args, downstream_of_tables, nodes_to_rebuild, rebuilt_by_every_build,
)
from orchestration.load.warehouse import LoadRecord


def load(source: str, seq: int) -> LoadRecord:
    return LoadRecord(source, f"load-{seq}", seq, 2000, 2026, True, ())


def node(unique_id: str, resource_type: str, fqn: list[str]) -> dict:
    return {"unique_id": unique_id, "resource_type": resource_type, "fqn": fqn, "name": fqn[-1]}


# two sources; a shared mart over both; a seed; a test over one fact and the shared mart
MANIFEST = {
    "sources": {
        "source.p.alpha.alpha_values": {"source_name": "alpha", "name": "alpha_values"},
        "source.p.beta.beta_values": {"source_name": "beta", "name": "beta_values"},
        "source.p.beta.beta_extra": {"source_name": "beta", "name": "beta_extra"},
    },
    "nodes": {
        "seed.p.countries": node("seed.p.countries", "seed", ["p", "countries"]),
        "model.p.stg_alpha": node("model.p.stg_alpha", "model", ["p", "staging", "stg_alpha"]),
        "model.p.stg_beta": node("model.p.stg_beta", "model", ["p", "staging", "stg_beta"]),
        "model.p.fct_alpha": node("model.p.fct_alpha", "model", ["p", "marts", "fct_alpha"]),
        "model.p.fct_beta_extra": node("model.p.fct_beta_extra", "model", ["p", "marts", "fct_beta_extra"]),
        "model.p.kpi_annual": node("model.p.kpi_annual", "model", ["p", "marts", "kpi_annual"]),
        "model.p.kpi_scorecard": node("model.p.kpi_scorecard", "model", ["p", "marts", "kpi_scorecard"]),
        "test.p.agrees_fct_alpha": node("test.p.agrees_fct_alpha", "test", ["p", "agrees_fct_alpha"]),
    },
    "child_map": {
        "source.p.alpha.alpha_values": ["model.p.stg_alpha"],
        "source.p.beta.beta_values": ["model.p.stg_beta"],
        "source.p.beta.beta_extra": ["model.p.fct_beta_extra"],
        "seed.p.countries": ["model.p.kpi_annual"],
        "model.p.stg_alpha": ["model.p.fct_alpha", "model.p.kpi_annual"],
        "model.p.stg_beta": ["model.p.kpi_annual"],
        "model.p.fct_alpha": ["test.p.agrees_fct_alpha"],
        "model.p.kpi_annual": ["model.p.kpi_scorecard", "test.p.agrees_fct_alpha"],
        "model.p.kpi_scorecard": [],
        "model.p.fct_beta_extra": [],
        "test.p.agrees_fct_alpha": [],
    },
}
SPECS = [SimpleNamespace(name="alpha", datasets=[SimpleNamespace(name="alpha_values")]),
         SimpleNamespace(name="beta", datasets=[SimpleNamespace(name="beta_values"), SimpleNamespace(name="beta_extra")])]


EVERY_SOURCE = {"alpha", "beta", "gamma"}


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


def test_a_source_rebuilds_its_models_and_the_shared_marts_and_nothing_else():
    rebuilt = nodes_to_rebuild(MANIFEST, frozenset({"alpha"}), SPECS)
    assert rebuilt == ["source.p.alpha.alpha_values", "model.p.stg_alpha", "model.p.fct_alpha", "model.p.kpi_annual",
                       "model.p.kpi_scorecard"]
    # every table of a changed source, however its models join
    assert set(nodes_to_rebuild(MANIFEST, frozenset({"beta"}), SPECS)) == {
        "source.p.beta.beta_values", "source.p.beta.beta_extra", "model.p.stg_beta", "model.p.fct_beta_extra",
        "model.p.kpi_annual", "model.p.kpi_scorecard"}
    assert nodes_to_rebuild(MANIFEST, None, SPECS) is None


def test_selection_names_sources_and_nodes_exactly():
    assert dbt_select_args(MANIFEST, ["source.p.alpha.alpha_values", "model.p.fct_alpha", "seed.p.countries"]) == [
        "--select", "source:alpha.alpha_values", "fqn:p.marts.fct_alpha", "fqn:p.countries"]


def test_a_table_no_dbt_source_reads_is_an_error_naming_it():
    with pytest.raises(ValueError, match="gamma_values"):
        downstream_of_tables(MANIFEST, {"gamma_values"})


def test_publishing_waits_for_the_marts_every_source_reaches():
    assert rebuilt_by_every_build(MANIFEST) == ["model.p.kpi_annual", "model.p.kpi_scorecard"]


def test_in_the_project_every_source_rebuilds_kpi_annual_and_the_scorecard():
    manifest = json.loads(ensure_manifest().read_text())
    names = {manifest["nodes"][unique_id]["name"] for unique_id in rebuilt_by_every_build(manifest)}
    assert {"kpi_annual", "kpi_scorecard"} <= names
    from orchestration.sources import discover

    specs = list(discover())
    for spec in specs:
        rebuilt = nodes_to_rebuild(manifest, frozenset({spec.name}), specs)
        others = {other.name for other in specs} - {spec.name}
        # no other source's staging model is rebuilt (their inputs did not change)
        assert not [unique_id for unique_id in rebuilt
                    if unique_id.startswith("model.") and any(f"stg_{other}__" in unique_id for other in others)], spec.name

