from __future__ import annotations

import pytest

from orchestration.errors import SettingsError
from orchestration.settings import PROJECT_ROOT, Settings


def test_defaults_work_from_a_fresh_clone():
    settings = Settings.from_env({})
    assert settings.source_mode == "replay"
    assert settings.countries == ("HND", "GTM", "SLV", "NIC", "MEX")
    assert settings.snapshot_dir == PROJECT_ROOT / "snapshot"
    assert settings.warehouse_path.is_relative_to(PROJECT_ROOT / "data")
    assert settings.serving_dir != settings.warehouse_path.parent


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"KPI_COUNTRIES": "HND,XXX"}, "codes the warehouse does not know: XXX"),
        ({"KPI_COUNTRIES": "HND;GTM"}, "does not know: HND;GTM"),
        ({"KPI_COUNTRIES": " , "}, "KPI_COUNTRIES is empty"),
        ({"KPI_COUNTRIES": "HND,HND"}, "lists a country twice"),
        ({"KPI_SOURCE_MODE": "offline"}, "KPI_SOURCE_MODE='offline'"),
        ({"KPI_WORLDBANK_BASE_URL": "ftp://x"}, "KPI_WORLDBANK_BASE_URL='ftp://x' is not an http"),
        ({"KPI_HTTP_TIMEOUT_SECONDS": "soon"}, "is not a number"),
        ({"KPI_HTTP_TIMEOUT_SECONDS": "0"}, "must be > 0"),
    ],
)
def test_bad_settings_are_named(env, message):
    with pytest.raises(SettingsError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Settings.from_env(env)


def test_countries_are_normalised():
    assert Settings.from_env({"KPI_COUNTRIES": " hnd , gtm "}).countries == ("HND", "GTM")


def test_relative_paths_are_from_the_project_root():
    assert Settings.from_env({"KPI_SERVING_DIR": "elsewhere/serving"}).serving_dir == PROJECT_ROOT / "elsewhere" / "serving"
