"""A source is one package under orchestration/sources/: everything else finds it by iterating."""

from __future__ import annotations

import dataclasses

import pytest

from orchestration.config import load_settings
from orchestration.core.errors import SettingsError
from orchestration.core.settings import EXPECTATIONS_DIR, PROJECT_ROOT
from orchestration.sources import discover, source_package_names
from orchestration.sources.contract import Cadence, SourceSetting, with_input_year

SOURCES_DIR = PROJECT_ROOT / "orchestration" / "sources"
DBT_MODELS = PROJECT_ROOT / "dbt_project" / "models"
EXPECTED = ["cbp", "dhs_enforcement", "foreign_assistance", "state_dept", "unhcr", "unodc", "worldbank"]


def test_every_package_is_discovered_with_its_spec():
    assert source_package_names() == EXPECTED
    assert [spec.name for spec in discover()] == EXPECTED


@pytest.mark.parametrize("name", EXPECTED)
def test_a_source_is_one_package_with_fetch_parse_checks_and_its_suites(name):
    package = SOURCES_DIR / name
    assert {"__init__.py", "fetch.py", "parse.py", "checks.py"} <= {p.name for p in package.iterdir()}
    spec = next(spec for spec in discover() if spec.name == name)
    suites = [dataset.name for dataset in spec.datasets] + list(spec.check_suites)
    # each suite is in the GX project with the validation definition and checkpoint that run it
    for suite in suites:
        for store in ("suites", "validation_definitions", "checkpoints"):
            assert (EXPECTATIONS_DIR / store / f"{suite}.json").is_file(), (store, suite)
    # the project's suites named after this source are exactly its datasets' and reconciliations'
    assert sorted(p.stem for p in (EXPECTATIONS_DIR / "suites").glob(f"{name}_*.json")) == sorted(suites)
    # its dbt folders and its one model per shared mart
    assert (DBT_MODELS / "staging" / name).is_dir() and (DBT_MODELS / "intermediate" / name).is_dir()
    assert (DBT_MODELS / "intermediate" / name / f"int_{name}__kpi_values.sql").is_file()
    assert (PROJECT_ROOT / "dbt_project" / "macros" / "sources" / f"{name}.sql").is_file()


def test_every_source_declares_its_cadence_and_the_settings_it_reads():
    for spec in discover():
        assert spec.cadence.warn_after_days < spec.cadence.fail_after_days
        assert spec.freshness_policy.fail_window.to_timedelta().days == spec.cadence.fail_after_days
        assert spec.base_url_setting in {setting.name for setting in spec.settings}, spec.name


def test_old_import_paths_keep_working():
    from orchestration.sources.cbp import parse_ohss_workbook  # noqa: F401
    from orchestration.sources.foreign_assistance import country_summary_url, latest_vintage  # noqa: F401
    from orchestration.sources.state_dept import fetch, parse_landings, seed_visa_classes  # noqa: F401
    from orchestration.sources.worldbank import indicator_url, parse_landing  # noqa: F401

    assert callable(fetch) and fetch.__module__ == "orchestration.sources.state_dept.fetch"


def test_new_sources_settings_are_parsed_once_with_the_variable_named_in_errors():
    settings = load_settings({"KPI_DHS_ENFORCEMENT_WORKBOOK_URLS": "https://a.example/x.xlsx, https://b.example/y.xlsx"})
    assert settings.dhs_enforcement_workbook_urls == ("https://a.example/x.xlsx", "https://b.example/y.xlsx")
    assert settings.unhcr_base_url == "https://api.unhcr.org/population/v1"
    assert settings.unodc_drug_seizures_url is None
    with pytest.raises(SettingsError, match=r"KPI_UNHCR_BASE_URL='ftp://x' is not an http"):
        load_settings({"KPI_UNHCR_BASE_URL": "ftp://x"})
    with pytest.raises(SettingsError, match=r"KPI_DHS_ENFORCEMENT_WORKBOOK_URLS='file:///etc/passwd' is not an http"):
        load_settings({"KPI_DHS_ENFORCEMENT_WORKBOOK_URLS": "https://ok.example/a.xlsx,file:///etc/passwd"})
    with pytest.raises(AttributeError, match="neither a field nor a setting a source declares"):
        settings.no_such_setting  # noqa: B018


def test_settings_stay_hashable_and_replaceable():
    settings = load_settings({})
    assert hash(settings) == hash(dataclasses.replace(settings))
    assert settings.replace(cbp_base_url="http://mirror").cbp_base_url == "http://mirror"
    assert dataclasses.replace(settings, first_year=2024).unodc_annex_page_url == settings.unodc_annex_page_url


def test_declarations_are_checked():
    with pytest.raises(ValueError, match="KPI_"):
        SourceSetting("UNHCR_URL", "url")
    with pytest.raises(ValueError, match="kind"):
        SourceSetting("KPI_X", "number")
    with pytest.raises(ValueError, match="warn_after_days < fail_after_days"):
        Cadence("daily", warn_after_days=5, fail_after_days=2)


@pytest.mark.parametrize(
    ("years", "loaded"),
    [((2000, 2026), (1999, 2026)), ((2000, 2000), (1999, 2000)), ((2005, 2010), (2005, 2010))],
)
def test_the_first_partition_also_loads_the_input_year(years, loaded):
    assert with_input_year(years, 2000) == loaded


def test_each_tagged_model_is_listed_by_its_source_macro():
    """The tags (in the models' YAML) and the macros/sources lists name the same models; the build
    checks it too (macros/source_models.sql), this says which file to fix without a dbt run."""
    import re

    listed = {}
    for macro in (PROJECT_ROOT / "dbt_project" / "macros" / "sources").glob("*.sql"):
        for role, names in re.findall(r"'(kpi_values|kpi_revisions|kpi_lineage)': \[([^\]]*)\]", macro.read_text()):
            listed.setdefault(role, set()).update(re.findall(r"'([a-z0-9_]+)'", names))
    tagged = {}
    for yml in DBT_MODELS.rglob("_*.yml"):
        for name, role in re.findall(r"- name: (\w+)\n(?:    [^\n]*\n)*?    config: \{tags: \[(kpi_values|kpi_revisions|kpi_lineage)\]\}", yml.read_text()):
            tagged.setdefault(role, set()).add(name)
    assert listed == tagged
    assert {f"int_{name}__kpi_values" for name in EXPECTED} == listed["kpi_values"]


def test_every_source_has_bundled_landings_whose_manifests_match_their_bytes():
    from orchestration.fetch.archive import list_landings

    for spec in discover():
        landings = list_landings(PROJECT_ROOT / "snapshot", spec.name)
        assert landings, spec.name  # make run replays every source
        for landing in landings:
            assert landing.licence == spec.licence, landing.path
            for landed in landing.files:
                landed.read_bytes()  # raises on a sha256 mismatch
