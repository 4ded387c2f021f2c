"""What a transform rebuilds: the sources that changed since the live publication, and the dbt
nodes downstream of them, which dbt's own selection finds (orchestration/transform/plan.py), on the
project's own manifest."""

from __future__ import annotations

import json

import pytest

from orchestration.load.warehouse import LoadRecord, TransformAttempt
from orchestration.transform.manifest import ensure_manifest
from orchestration.transform.plan import changed_sources, every_source_selector, plan_transform, source_selection
from orchestration.transform.state import ProjectVersion, earlier_projects


EVERY_SOURCE = {"alpha", "beta", "gamma"}
ALL_YEARS = (2000, 2026)
MANIFEST = {"nodes": {
    "model.p.stg_alpha": {"name": "stg_alpha", "config": {"materialized": "view"}},
    "model.p.fct_alpha": {"name": "fct_alpha", "config": {"materialized": "incremental"}},
    "model.p.dim_kpi": {"name": "dim_kpi", "config": {"materialized": "table"}},
    "test.p.not_null_dim_kpi.0a1b": {"name": "not_null_dim_kpi", "config": {"materialized": "test"}},
}}


def load(source: str, seq: int, years=ALL_YEARS) -> LoadRecord:
    return LoadRecord(source, f"load-{seq}", seq, years[0], years[1], True, ())


def test_the_sources_with_loads_since_the_publication_changed():
    assert changed_sources([load("beta", 7), load("beta", 8)], EVERY_SOURCE) == {"beta"}
    assert changed_sources([load("alpha", 7), load("beta", 8)], EVERY_SOURCE) == {"alpha", "beta"}
    assert changed_sources([], EVERY_SOURCE) == frozenset()
    assert changed_sources([load("alpha", 1), load("gamma", 2), load("beta", 3)], EVERY_SOURCE) is None


@pytest.mark.parametrize("published, pending, modified, why", [
    (False, [load("alpha", 1)], frozenset(), "never published"),
    (True, [load("alpha", 1)], None, "a dbt project that cannot be compared"),
    (True, [], frozenset(), "nothing pending: a transform asked for by hand"),
    (True, [load("alpha", 1), load("gamma", 2), load("beta", 3)], frozenset(), "every source: a full build"),
])
def test_everything_is_rebuilt(published, pending, modified, why):
    assert plan_transform(published, pending, None, ALL_YEARS, EVERY_SOURCE, modified, MANIFEST).selection is None, why


def test_a_changed_source_rebuilds_what_it_feeds_and_the_years_it_loaded():
    plan = plan_transform(True, [load("beta", 7, (2024, 2026))], None, ALL_YEARS, EVERY_SOURCE, frozenset(), MANIFEST)
    assert (plan.selection, plan.years) == (["--select", "source:beta+"], (2024, 2026))


def test_a_changed_project_adds_the_nodes_dbt_finds_modified_and_an_incremental_fact_rebuilds_every_year():
    table_only = plan_transform(True, [load("beta", 7, (2024, 2026))], None, ALL_YEARS, EVERY_SOURCE,
                                frozenset({"model.p.dim_kpi", "test.p.not_null_dim_kpi.0a1b"}), MANIFEST)
    assert (table_only.selection, table_only.years) == (["--select", "source:beta+", "dim_kpi", "not_null_dim_kpi"], (2024, 2026))
    assert "2 node(s) the dbt project changed" in table_only.reason
    # nothing loaded, a staging view changed: it and the incremental fact downstream, every year
    fact = plan_transform(True, [], None, ALL_YEARS, EVERY_SOURCE, frozenset({"model.p.stg_alpha", "model.p.fct_alpha"}), MANIFEST)
    assert (fact.selection, fact.years) == (["--select", "fct_alpha", "stg_alpha"], ALL_YEARS)


CURRENT = ProjectVersion("f3", "contracts", "settings", "dbt-core==1")


def attempt(seq: int, fingerprint: str, **differences) -> TransformAttempt:
    fields = {"contracts_fingerprint": "contracts", "settings_fingerprint": "settings", "dbt_versions": "dbt-core==1"}
    return TransformAttempt(f"run-{seq}", fingerprint, **{**fields, **differences}, attempt_seq=seq)


def test_the_projects_compared_are_the_publications_and_every_attempt_since():
    publication = {"transform_fingerprint": "f1", "transform_attempt": 4}
    # 5 built f2 and died; the project is now f3: both f1 and f2 may have written models
    assert earlier_projects(publication, [attempt(4, "f1"), attempt(5, "f2")], CURRENT) == {"f1", "f2"}
    # changed back to f1 after an interrupted f2: f2's models are still compared
    assert earlier_projects(publication, [attempt(4, "f1"), attempt(5, "f2")], ProjectVersion("f1", "contracts", "settings",
                                                                                              "dbt-core==1")) == {"f2"}
    assert earlier_projects(publication, [attempt(4, "f3")], CURRENT) == frozenset()  # nothing changed


@pytest.mark.parametrize("publication, attempts, why", [
    (None, [attempt(1, "f1")], "never published"),
    ({"transform_fingerprint": "f1"}, [attempt(1, "f1")], "a publication made by 0.3.1 or earlier names no attempt"),
    ({"transform_fingerprint": "f1", "transform_attempt": 4}, [attempt(5, "f1")], "the publication's attempt is not recorded"),
    ({"transform_fingerprint": "f1", "transform_attempt": 4}, [attempt(4, "f1"), attempt(5, "f2", contracts_fingerprint="c2")],
     "a source's contract changed: Python, which dbt's state comparison cannot see"),
    ({"transform_fingerprint": "f1", "transform_attempt": 4}, [attempt(4, "f1", settings_fingerprint="s0")],
     "dbt_project.yml changed (its vars)"),
    ({"transform_fingerprint": "f1", "transform_attempt": 4}, [attempt(4, "f1", dbt_versions="dbt-core==0")],
     "dbt or an adapter was upgraded"),
])
def test_a_project_dbt_cannot_compare_rebuilds_everything(publication, attempts, why):
    assert earlier_projects(publication, attempts, CURRENT) is None, why


def test_selection_is_dbts_own_graph_selection():
    assert source_selection(frozenset({"beta", "alpha"})) == ["--select", "source:alpha+", "source:beta+"]
    assert every_source_selector({"beta", "alpha"}) == "source:alpha+,source:beta+,resource_type:model"


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
