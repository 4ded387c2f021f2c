"""The framework reference at the project's shape (bench/framework_reference.py): a trivial dbt project
with the seeds, models, edges and data tests of this project's own manifest, parsed by dbt itself."""

import json

from dbt.cli.main import dbtRunner

from bench.framework_reference import own_project_shape, project_shape, write_reference_project
from orchestration.transform.manifest import ensure_manifest


def test_the_shape_counts_every_node_of_the_projects_manifest():
    manifest = json.loads(ensure_manifest().read_text())
    shape = project_shape(manifest)
    kinds = [node["resource_type"] for node in manifest["nodes"].values()]
    assert len(shape.seeds) == kinds.count("seed")
    assert len(shape.models) == kinds.count("model")
    assert sum(tests for _, _, tests in shape.models.values()) + shape.unattached_tests == kinds.count("test")
    # the facts read the dimensions: edges between models are kept, not only their number
    assert any(parents for _, parents, _ in shape.models.values())


def test_the_trivial_project_dbt_parses_has_the_projects_shape(tmp_path):
    shape = own_project_shape()
    project = write_reference_project(tmp_path, shape)
    parsed = dbtRunner().invoke(["parse", "--quiet", "--project-dir", str(project), "--profiles-dir", str(project)])
    assert parsed.success, parsed.exception
    assert project_shape(json.loads((project / "target" / "manifest.json").read_text())) == shape
