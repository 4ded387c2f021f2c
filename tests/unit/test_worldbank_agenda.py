"""World Bank additions of issue 14 on the bundled snapshot: remittances (two vintages, one of them
converted from the Excel download), the newest homicide vintage for the comparators, and the
input year before the first published year."""

from __future__ import annotations

import importlib.util
import math

import pandas as pd
import pytest

from orchestration.sources import discover

from orchestration.config import load_settings
from orchestration.core.settings import PROJECT_ROOT
from orchestration.sources import worldbank
from orchestration.fetch.archive import list_landings
from tests.conftest import SNAPSHOT_DIR


@pytest.fixture(scope="module")
def values() -> pd.DataFrame:
    return worldbank.SPEC.parse(list_landings(SNAPSHOT_DIR, worldbank.SOURCE), load_settings({}))["worldbank_indicator_values"]


def _value(values, country, indicator, year, vintage) -> float:
    row = values[(values.country_iso3 == country) & (values.indicator_id == indicator) & (values.year == year)
                 & (values.vintage.astype(str) == vintage)]
    assert len(row) == 1, (country, indicator, year, vintage, len(row))
    return float(row.value.iloc[0])


def test_hnd_remittances_2024_as_published_in_the_2025_07_01_vintage(values):
    assert _value(values, "HND", "BX.TRF.PWKR.CD.DT", 2024, "2025-07-01") == pytest.approx(9_532_724_045.27075, abs=0.005)
    # the per-country file of 2026-04-08 carries the same figure
    assert _value(values, "HND", "BX.TRF.PWKR.CD.DT", 2024, "2026-04-08") == pytest.approx(9_532_724_045.27075, abs=0.005)


def test_the_excel_download_is_the_2023_10_26_vintage_with_its_own_figures(values):
    assert _value(values, "SLV", "BX.TRF.PWKR.CD.DT", 2022, "2023-10-26") == pytest.approx(7_692_816_875.17177)
    assert _value(values, "SLV", "BX.TRF.PWKR.CD.DT", 2022, "2025-07-01") == pytest.approx(7_851_002_206.41)
    assert _value(values, "HND", "BX.TRF.PWKR.CD.DT", 2000, "2023-10-26") == 474_498_240
    assert _value(values, "HND", "BX.TRF.PWKR.CD.DT", 2022, "2023-10-26") == _value(values, "HND", "BX.TRF.PWKR.CD.DT", 2022, "2025-07-01")


def test_remittances_share_of_gdp_from_the_2022_02_15_extract(values):
    assert _value(values, "HND", "BX.TRF.PWKR.DT.GD.ZS", 2000, "2022-02-15") == pytest.approx(6.67947356448964)
    assert _value(values, "HND", "BX.TRF.PWKR.DT.GD.ZS", 2020, "2022-02-15") == pytest.approx(23.6184253756916)


def test_the_newest_homicide_vintage_covers_the_comparators_only(values):
    newest = values[(values.indicator_id == "VC.IHR.PSRC.P5") & (values.vintage.astype(str) == "2026-02-24")]
    assert set(newest.country_iso3) == {"GTM", "SLV", "NIC", "MEX"}
    assert 2023 in set(newest[newest.country_iso3 == "GTM"].year)
    hnd_2011 = values[(values.country_iso3 == "HND") & (values.indicator_id == "VC.IHR.PSRC.P5") & (values.year == 2011)]
    assert len(hnd_2011) == 3  # HND's newest is the 2026-04-08 per-country file


def test_the_input_year_1999_is_loaded(values):
    assert _value(values, "HND", "SL.TLF.TOTL.IN", 1999, "2026-04-08") > 0
    assert values.year.min() == 1999


def test_excel_cells_become_the_text_a_csv_would_hold():
    from orchestration.fetch.snapshot import number_token
    from orchestration.sources.worldbank.snapshot import excel_number_text

    assert excel_number_text(474498240.0) == "474498240"
    assert float(excel_number_text(1805194920.10638)) == 1805194920.10638
    assert excel_number_text(math.nan) == "" and excel_number_text(None) == ""
    assert number_token(excel_number_text(7692816875.17177)) == 7692816875.17177


def test_every_source_with_a_snapshot_recipe_is_found_by_discovery():
    """scripts/build_snapshot.py names no source: it runs the recipe of each discovered source that has one."""
    spec = importlib.util.spec_from_file_location("build_snapshot", PROJECT_ROOT / "scripts" / "build_snapshot.py")
    builder = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(builder)
    recipes = builder.recipes()
    assert set(recipes) == {spec.name for spec in discover()}  # every bundled source has its recipe
    assert all(callable(recipe.build) for recipe in recipes.values())
