"""A changed dbt project rebuilds what dbt's ``state:modified+`` finds changed against every build the
warehouse may still hold (orchestration/transform/state.py), and publishes what a full build of the
changed project publishes. Through the pipeline's own load, transform and publish code
(tests/engine.py) with real dbt on a real DuckDB warehouse, on copies of the dbt project."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from orchestration.core.settings import DBT_PROJECT_DIR, Settings
from orchestration.load.engines import warehouse_for
from orchestration.publish.publication import current_publication
from orchestration.transform.state import modified_nodes
from tests.conftest import snapshot_of_links
from tests.engine import Engine, Kill, engine_settings, load_project, publish, published_marts, transform
from tests.releases import new_homicide_release

pytestmark = pytest.mark.integration

EDITED_MODEL = Path("models/staging/cbp/stg_cbp__ohss_monthly_encounters.sql")
ENCOUNTERS = "cast(encounters as bigint) as encounters"


def project_copy(target: Path, factor: int | None = None) -> Path:
    """The dbt project, without its build artefacts; ``factor``: OHSS's monthly encounters multiplied by it."""
    shutil.copytree(DBT_PROJECT_DIR, target, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    if factor is not None:
        model = target / EDITED_MODEL
        sql = model.read_text()
        assert ENCOUNTERS in sql, f"{EDITED_MODEL} changed: pick another edit for this test"
        model.write_text(sql.replace(ENCOUNTERS, f"cast(encounters as bigint) * {factor} as encounters"))
    return target


def warehouse_settings(root: Path) -> Settings:
    """A warehouse and serving directory under ``root``, and a snapshot new releases can be added to."""
    return engine_settings(root, snapshot_of_links(root))


def every_year(settings: Settings) -> tuple[int, int]:
    return settings.first_year, settings.last_year


def encounter_marts(marts: dict[str, list[tuple]]) -> dict[str, list[tuple]]:
    """The encounter facts and the border_encounters KPI's rows of kpi_annual (a World Bank release changes neither)."""
    return {**{table: rows for table, rows in marts.items() if "border_encounters" in table},
            "kpi_annual": [row for row in marts["kpi_annual"] if "border_encounters" in row]}


def test_a_changed_project_rebuilds_what_dbt_finds_modified_since_the_publication_and_every_build_after_it(tmp_path):
    v1, v2, v3 = project_copy(tmp_path / "v1"), project_copy(tmp_path / "v2", 2), project_copy(tmp_path / "v3", 3)
    settings = warehouse_settings(tmp_path / "warehouse")
    first = load_project(settings, v1)
    assert Engine(settings, first).run(every_year(settings), forced=True)
    published_first = published_marts(settings.serving_dir)

    # v2 over v1's publication: the edited model and what is downstream of it, no other source's models
    second = load_project(settings, v2)
    modified = modified_nodes(warehouse_for(settings), current_publication(settings.serving_dir), second.version, v2,
                              second.parse_profile)
    names = {second.name(unique_id) for unique_id in modified if second.is_model(unique_id)}
    assert {"stg_cbp__ohss_monthly_encounters", "int_cbp__monthly_encounters", "fct_border_encounters_all_sources",
            "fct_border_encounters", "fct_border_encounters_monthly", "kpi_annual"} <= names, names
    assert not {"stg_cbp__sbo_monthly_encounters", "stg_cbp__ohss_annual_encounters", "stg_worldbank__indicator_values",
                "fct_visa_issuances", "dim_country"} & names, names
    transform(settings, second, None, Kill())  # nothing loaded since the publication: the project's change alone
    publish(settings, Kill(), "v2")
    published_second = published_marts(settings.serving_dir)
    assert encounter_marts(published_second) != encounter_marts(published_first)  # the edit reaches the marts

    reference = warehouse_settings(tmp_path / "reference")
    assert Engine(reference, second).run(every_year(reference), forced=True)
    full_build = published_marts(reference.serving_dir)
    assert published_second == full_build

    # v3 built, never published (its run died before publishing); back at v2, the publication's own
    # project, a new World Bank release arrives: the models v3 wrote are rebuilt too
    transform(settings, load_project(settings, v3), None, Kill())
    new_homicide_release(tmp_path / "warehouse" / "snapshot")
    assert Engine(settings, second).run(every_year(settings), forced=False)
    assert encounter_marts(published_marts(settings.serving_dir)) == encounter_marts(full_build)
