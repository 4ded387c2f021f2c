"""The code location loads, and its asset keys are the ones the snapshot file lists."""

from __future__ import annotations

from pathlib import Path

SNAPSHOT = Path(__file__).resolve().parent.parent / "snapshots" / "asset_keys.txt"


def test_definitions_load_with_the_expected_asset_keys():
    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    keys = sorted(key.to_user_string() for key in graph.get_all_asset_keys())
    expected = SNAPSHOT.read_text().split()
    assert keys == expected, "asset keys changed: update tests/snapshots/asset_keys.txt if intended"


def test_every_loaded_dataset_has_a_blocking_suite_check():
    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        if key.path[0] == "raw":
            checks = [c for c in graph.asset_check_keys if c.asset_key == key and c.name == f"gx_{key.path[1]}"]
            assert checks, key
    # and every check of a load is declared blocking, so a failed suite stops what depends on the asset:
    # tests/integration/test_pipeline.py::test_out_of_range_value_fails_the_run_and_keeps_the_publication shows
    # it stopping a real run before dbt and publishing
    specs = [spec for assets_def in graph.assets_defs for spec in assets_def.check_specs if spec.asset_key.path[0] == "raw"]
    assert specs and [spec.name for spec in specs if not spec.blocking] == []


def test_the_full_build_job_covers_every_asset():
    from orchestration.definitions import defs

    job = defs.resolve_job_def("kpi_full_build")
    assert set(job.asset_layer.executable_asset_keys) >= set(defs.resolve_asset_graph().get_all_asset_keys())
