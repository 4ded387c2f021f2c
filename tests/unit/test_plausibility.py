"""Plausibility rules (orchestration/check/plausibility.py): releases against their neighbours and head
counts against population, on small frames and on the real snapshot; raw history from a real DuckDB."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd
import pytest

from orchestration.config import load_settings
from orchestration.check import plausibility
from orchestration.load import plausibility_inputs
from orchestration.platform.jobs import SOURCES
from orchestration.fetch.archive import list_landings
from orchestration.check.validation import validate_frame
from orchestration.load.warehouse import RawLoad, load_source, raw_history
from orchestration.sources import discover
from orchestration.sources.worldbank import plausibility as worldbank_rules

WB = "worldbank_indicator_values"
RULES = {spec.name: spec.plausibility for spec in discover()}
REVISION_RULES = [rule for rules in RULES.values() for rule in rules.revisions]
WB_RULE = next(rule for rule in REVISION_RULES if rule.dataset == WB)
FA_RULE = next(rule for rule in REVISION_RULES if rule.dataset == "foreign_assistance_country_summary")
NO_DECLARATIONS = pd.DataFrame(columns=["dataset", "series", "first_year", "last_year", "vintage", "explanation"])


def check(frames: dict[str, pd.DataFrame], source: str, history: pd.DataFrame | None = None, state: pd.DataFrame | None = None,
          declared: pd.DataFrame = NO_DECLARATIONS) -> pd.DataFrame:
    """The check frame of ``source``'s rules over ``frames``, with ``history`` as what raw holds of every
    series and ``state`` as the reference rows."""
    def history_of_rule(rule, incoming):
        return history if history is not None else pd.DataFrame(columns=[*rule.columns, "loaded_at"])

    def reference_state(reference, countries):
        return state if state is not None else reference.empty()

    return plausibility.check_frame(frames, RULES[source], history_of_rule, reference_state, declared)


@pytest.fixture(scope="module")
def snapshot_frames() -> dict[str, pd.DataFrame]:
    """Every dataset of the bundled snapshot, as replay parses it (all landings together)."""
    settings = load_settings({})
    frames = {}
    for spec in SOURCES:
        frames.update(spec.parse(list_landings(settings.snapshot_dir, spec.name), settings))
    return frames


def wb_rows(values: dict[int, float], vintage: dt.date, indicator: str = "SL.TLF.TOTL.IN", country: str = "HND") -> pd.DataFrame:
    return pd.DataFrame({"country_iso3": country, "indicator_id": indicator, "year": list(values),
                         "value": [float(v) for v in values.values()], "vintage": vintage,
                         "source_url": "u", "fetch_id": "f"})


def history_of(frame: pd.DataFrame, loaded_at: str = "2026-01-01 00:00:00") -> pd.DataFrame:
    return frame.assign(loaded_at=pd.Timestamp(loaded_at))


def test_year_ranges_are_compact():
    assert plausibility.year_ranges([2005, 2000, 2001, 2002, 2007, 2008]) == "2000-2002, 2005, 2007-2008"
    assert plausibility.year_ranges([]) == ""


def test_a_jump_beyond_the_factor_from_the_previous_release_is_implausible():
    previous = wb_rows({2020: 4_000_000, 2021: 4_100_000, 2022: 4_200_000}, dt.date(2026, 4, 8))
    new = wb_rows({2020: 4_000_000, 2021: 9_000_000, 2022: 1_000_000}, dt.date(2026, 6, 1))
    pairs = plausibility.revision_pairs(new, history_of(previous), WB_RULE)
    assert set(pairs["compared_with"]) == {"2026-04-08"}
    assert pairs.set_index("year")["implausible"].to_dict() == {2020: False, 2021: True, 2022: True}
    [row] = plausibility.summarise(pairs, WB, "revision", None, NO_DECLARATIONS).to_dict("records")
    assert row["series"] == "HND SL.TLF.TOTL.IN" and row["vintage"] == "2026-06-01"
    assert row["implausible_years"] == "2021-2022" and row["implausible_count"] == 2
    assert row["example"] == "2022: 1,000,000 against 4,200,000 (x0.2381)"  # the worst of the two


def test_the_oldest_release_is_compared_with_the_next_and_replay_compares_releases_with_each_other():
    older = wb_rows({2020: 40.0}, dt.date(2022, 7, 20), indicator="VC.IHR.PSRC.P5")
    middle = wb_rows({2020: 41.0}, dt.date(2024, 2, 21), indicator="VC.IHR.PSRC.P5")
    newest = wb_rows({2020: 400.0}, dt.date(2026, 4, 8), indicator="VC.IHR.PSRC.P5")
    everything = pd.concat([older, middle, newest], ignore_index=True)  # replay: every landing at once
    pairs = plausibility.revision_pairs(everything, history_of(everything.iloc[0:0]), WB_RULE)
    compared = pairs.set_index("vintage")["compared_with"].to_dict()
    assert compared == {"2022-07-20": "2024-02-21", "2024-02-21": "2022-07-20", "2026-04-08": "2024-02-21"}
    assert pairs.set_index("vintage")["implausible"].to_dict() == {"2022-07-20": False, "2024-02-21": False, "2026-04-08": True}


def test_a_release_loaded_again_is_compared_with_another_release_not_itself():
    release = wb_rows({2020: 4_000_000}, dt.date(2026, 4, 8))
    assert plausibility.revision_pairs(release, history_of(release), WB_RULE).empty


def test_partial_years_and_small_values_are_not_compared():
    def summary(partial: bool, amount: int, vintage: dt.date) -> pd.DataFrame:
        return pd.DataFrame({"country_iso3": ["HND"], "transaction_type_name": ["Obligations"], "fiscal_year": [2025],
                             "current_amount": [amount], "vintage": [vintage], "is_partial_year": [partial]})
    april, november = dt.date(2025, 4, 2), dt.date(2025, 11, 29)
    grows = plausibility.revision_pairs(summary(True, 120_000_000, november), history_of(summary(True, 40_000_000, april)), FA_RULE)
    assert grows.empty  # a partial year grows several-fold as agencies report
    small = plausibility.revision_pairs(summary(False, 900_000, november), history_of(summary(False, 100_000, april)), FA_RULE)
    assert small.empty  # both under the US$1 million floor
    large = plausibility.revision_pairs(summary(False, 900_000_000, november), history_of(summary(False, 100_000_000, april)), FA_RULE)
    assert large["implausible"].tolist() == [True]


def test_named_releases_are_ordered_by_when_they_were_loaded():
    rule = next(rule for rule in REVISION_RULES if rule.dataset == "cbp_ohss_encounters_annual")

    def annual(vintage: str, encounters: int) -> pd.DataFrame:
        return pd.DataFrame({"citizenship_code": ["HND"], "region": ["Southwest Land Border"], "fiscal_year": [2019],
                             "encounters": [encounters], "vintage": [vintage], "is_partial_year": [False]})
    history = pd.concat([annual("KHSM_fy25m9", 250_000).assign(loaded_at=pd.Timestamp("2025-07-01")),
                         annual("KHSM_fy25m11", 251_000).assign(loaded_at=pd.Timestamp("2025-09-01"))], ignore_index=True)
    # "fy25m9" sorts after "fy25m11" as text; the previous release is the one loaded last
    pairs = plausibility.revision_pairs(annual("KHSM_fy25m12", 2_510_000), history, rule)
    assert pairs[["compared_with", "implausible"]].values.tolist() == [["KHSM_fy25m11", True]]


def test_head_counts_above_population_are_implausible_at_the_nearest_year():
    population = wb_rows({2020: 10_000_000, 2024: 10_600_000}, dt.date(2026, 4, 8), indicator="SP.POP.TOTL")
    labour = wb_rows({2020: 4_000_000, 2023: 40_000_000}, dt.date(2026, 4, 8))
    state = pd.concat([population, labour], ignore_index=True)
    counts = worldbank_rules.labour_force_counts(labour, state)
    pairs = plausibility.ceiling_pairs(counts, worldbank_rules.population(state))
    assert pairs.set_index("year")[["reference_value", "implausible"]].to_dict("index") == {
        2020: {"reference_value": 10_000_000.0, "implausible": False},
        2023: {"reference_value": 10_600_000.0, "implausible": True},  # 2024 is the nearest year with a population
    }


def test_encounters_above_population_fail_across_sources():
    encounters = pd.DataFrame({"citizenship_code": ["HND", "HND", "OTHER"], "region": ["Southwest Land Border", "Coastal Border", "x"],
                               "fiscal_year": [2019, 2019, 2019], "encounters": [9_000_000, 2_000_000, 99_000_000],
                               "vintage": ["KHSM_fy25m11"] * 3, "is_partial_year": [False] * 3})
    state = wb_rows({2019: 10_000_000}, dt.date(2024, 2, 21), indicator="SP.POP.TOTL")
    frame = check({"cbp_ohss_encounters_annual": encounters}, "cbp", state=state)
    [row] = frame[frame["rule"] == "encounters_within_population"].to_dict("records")
    assert row["series"] == "HND Border Patrol encounters (all regions)"  # regions summed; OTHER has no population
    assert row["implausible_years"] == "2019" and row["compared_with"] == "SP.POP.TOTL"


def test_employment_above_what_the_employment_ratio_allows_fails():
    state = pd.concat([
        wb_rows({2020: 10_000_000}, dt.date(2026, 4, 8), indicator="SP.POP.TOTL"),
        wb_rows({2020: 55.0}, dt.date(2026, 4, 8), indicator="SL.EMP.TOTL.SP.ZS"),
        wb_rows({2020: 9_000_000}, dt.date(2026, 4, 8)),
        wb_rows({2020: 5.0}, dt.date(2026, 4, 8), indicator="SL.UEM.TOTL.ZS"),
    ], ignore_index=True)
    frame = check({WB: state}, "worldbank", state=state)
    rows = frame.set_index("rule")["implausible_count"].to_dict()
    assert rows["employment_within_employment_ratio"] == 1  # 8.55 m employed > 55% of 10 m people
    assert rows["labour_force_within_population"] == 0


def test_a_declared_revision_is_accepted_and_counted_apart():
    previous = wb_rows({2019: 4_000_000, 2020: 4_100_000}, dt.date(2026, 4, 8))
    new = wb_rows({2019: 12_000_000, 2020: 12_300_000}, dt.date(2026, 6, 1))
    declared = pd.DataFrame([{"dataset": WB, "series": "HND SL.TLF.TOTL.IN", "first_year": 2019, "last_year": 2019,
                              "vintage": "2026-06-01", "explanation": "test: a census rebasing of 2019"}])
    [row] = check({WB: new}, "worldbank", history=history_of(previous), declared=declared).query("rule == 'revision'").to_dict("records")
    assert row["declared_years"] == "2019" and row["implausible_years"] == "2020" and row["implausible_count"] == 1


def test_the_declared_revisions_file_parses():
    declared = plausibility.read_declared_revisions()
    assert list(declared.columns) == ["dataset", "series", "first_year", "last_year", "vintage", "explanation"]


def test_the_suite_names_series_release_and_years_of_a_failure():
    previous = wb_rows({year: 4_000_000 + year for year in range(2000, 2026)}, dt.date(2026, 4, 8))
    new = previous.assign(value=previous["value"] * 1000, vintage=dt.date(2026, 6, 1))
    frame = check({WB: new}, "worldbank", history=history_of(previous))
    report = validate_frame(plausibility.CHECK_SUITE, frame)
    assert not report.success
    message = report.message()
    assert ("'series': 'HND SL.TLF.TOTL.IN', 'vintage': '2026-06-01', 'compared_with': '2026-04-08', "
            "'implausible_years': '2000-2025'") in message, message


def test_the_bundled_snapshot_is_plausible(tmp_path, snapshot_frames):
    """Replay parses every landing together: the releases of the snapshot agree with each other and
    with population (so a full build is not stopped by its own data)."""
    for spec in SOURCES:
        frames = {dataset.name: snapshot_frames[dataset.name] for dataset in spec.datasets}
        frame = plausibility_inputs.plausibility_check_frames(frames, tmp_path / "no-warehouse.duckdb", spec.plausibility)[plausibility.CHECK_SUITE]
        assert frame["implausible_count"].sum() == 0, frame[frame["implausible_count"] > 0].to_dict("records")
        assert validate_frame(plausibility.CHECK_SUITE, frame).success
        if spec.name == "worldbank":
            assert set(frame["rule"]) == {"revision", *(rule.name for rule in spec.plausibility.ceilings)}


def test_raw_history_reads_every_vintage_of_the_named_series(tmp_path):
    warehouse = tmp_path / "kpi.duckdb"
    assert raw_history(warehouse, WB, list(WB_RULE.columns), pd.DataFrame({"country_iso3": ["HND"]})).empty  # no file yet
    for vintage, factor in ((dt.date(2024, 2, 21), 1.0), (dt.date(2026, 4, 8), 1.01)):
        rows = pd.concat([wb_rows({2020: 4e6 * factor}, vintage), wb_rows({2020: 9e6}, vintage, country="GTM")], ignore_index=True)
        load_source(warehouse, "worldbank", [RawLoad(WB, rows, ("country_iso3", "indicator_id", "vintage"), "year")],
                    (2000, 2030), f"load-{vintage}", f"fingerprint-{vintage}")
    history = raw_history(warehouse, WB, list(WB_RULE.columns),
                          pd.DataFrame({"country_iso3": ["HND"], "indicator_id": ["SL.TLF.TOTL.IN"]}))
    assert sorted(plausibility.vintage_text(history["vintage"])) == ["2024-02-21", "2026-04-08"]
    assert set(history["country_iso3"]) == {"HND"} and "loaded_at" in history.columns
    assert raw_history(warehouse, "no_such_table", ["x"], pd.DataFrame({"x": ["y"]})).empty


def test_a_load_compares_with_what_raw_keeps(tmp_path):
    """Live mode parses only the new landing: the previous release comes from raw."""
    warehouse = tmp_path / "kpi.duckdb"
    previous = wb_rows({2020: 4_000_000, 2021: 4_100_000}, dt.date(2026, 4, 8))
    load_source(warehouse, "worldbank", [RawLoad(WB, previous, ("country_iso3", "indicator_id", "vintage"), "year")],
                (2000, 2030), "load-1", "fingerprint-1")
    new = previous.assign(value=previous["value"] * 1000, vintage=dt.date(2026, 6, 1))
    frame = plausibility_inputs.plausibility_check_frames({WB: new}, warehouse, RULES["worldbank"])[plausibility.CHECK_SUITE]
    [row] = frame[frame["rule"] == "revision"].to_dict("records")
    assert (row["compared_with"], row["implausible_years"]) == ("2026-04-08", "2020-2021")
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        assert conn.execute("select count(*) from raw.worldbank_indicator_values").fetchone()[0] == 2  # read, never written


@pytest.mark.parametrize("rule", REVISION_RULES, ids=lambda rule: f"{rule.dataset}:{rule.name}")
def test_every_rule_names_columns_its_dataset_has(rule, snapshot_frames):
    assert set(rule.columns) <= set(snapshot_frames[rule.dataset].columns)


# ------------------------------------------------------------------ every source, by construction


@pytest.mark.parametrize("spec", SOURCES, ids=lambda spec: spec.name)
def test_every_discovered_source_declares_a_revision_rule_or_a_reason_for_each_dataset(spec):
    """A new source cannot arrive unprotected: discovery refuses a declaration that leaves a dataset out,
    and this fails for any source whose declaration is empty."""
    rules = spec.plausibility
    assert rules.revisions, f"{spec.name} declares no revision rule"
    assert rules.problems([dataset.name for dataset in spec.datasets]) == []
    exempt = dict(rules.not_compared)
    for dataset in spec.datasets:
        assert any(rule.dataset == dataset.name for rule in rules.revisions) or exempt[dataset.name].strip()


def test_a_declaration_that_leaves_a_dataset_out_is_named():
    rules = plausibility.Plausibility(revisions=(WB_RULE,))
    assert rules.problems([WB, "worldbank_other"]) == ["worldbank_other has no revision rule and no reason in not_compared"]
    assert plausibility.Plausibility(revisions=()).problems([WB]) == [f"{WB} has no revision rule and no reason in not_compared"]
    assert "not one of the source's datasets" in plausibility.Plausibility(revisions=(WB_RULE,)).problems(["other"])[-1]


def _release_of(frame: pd.DataFrame, vintage: str, fetch_id: str) -> pd.DataFrame:
    return frame.assign(vintage=vintage, fetch_id=fetch_id, source_url=f"http://publisher.test/{fetch_id}")


def test_a_unhcr_release_that_lost_most_countries_of_asylum_is_refused(snapshot_frames):
    """A page header that under-reports the pages drops rows but keeps every year: the origin's total
    over the countries of asylum falls far beyond the bound, and the refusal names the landing."""
    real = snapshot_frames["unhcr_population"]
    hnd = real[real["origin_iso3"] == "HND"]
    kept = hnd[hnd["asylum_iso3"].isin(sorted(set(hnd["asylum_iso3"]))[:12])]  # the first pages' countries only
    lying = _release_of(kept, "2026-12-01", "20261201T060000Z")
    history = history_of(_release_of(hnd, "2026-06-25", "20260625T060000Z"))
    frame = check({"unhcr_population": lying}, "unhcr", history=history)
    refused = frame[(frame["rule"] == "revision of asylum_seekers") & (frame["implausible_count"] > 0)]
    [row] = refused.to_dict("records")
    assert row["series"] == "HND" and row["compared_with"] == "2026-06-25"
    assert row["evidence"] == "landing 20261201T060000Z: http://publisher.test/20261201T060000Z"
    assert not validate_frame(plausibility.CHECK_SUITE, frame).success
    # the same release, whole, passes
    whole = check({"unhcr_population": _release_of(hnd, "2026-12-01", "x")}, "unhcr", history=history)
    assert whole.query("rule.str.startswith('revision')")["implausible_count"].sum() == 0


@pytest.mark.parametrize("source, dataset, value", [
    ("dhs_enforcement", "dhs_enforcement_annual", "persons"),
    ("unodc", "unodc_drug_seizures", "kilograms"),
    ("unhcr", "unhcr_asylum_applications", "applied"),
    ("foreign_assistance", "foreign_assistance_usg_sector_amounts", "current_amount"),
    ("cbp", "cbp_sbo_encounters_monthly", "encounters"),
])
def test_the_newer_sources_refuse_a_thousandfold_release(snapshot_frames, source, dataset, value):
    real = snapshot_frames[dataset]
    newest = real[real["vintage"].astype(str) == real["vintage"].astype(str).max()]
    scaled = newest.assign(**{value: newest[value] * 1000}).assign(vintage="9999-12-31" if dataset != "unodc_drug_seizures" else "2019-2023")
    if "fiscal_year" in scaled.columns and dataset == "foreign_assistance_usg_sector_amounts":
        scaled = scaled.assign(vintage=pd.Timestamp("2099-01-01").date())
    frame = check({dataset: scaled}, source, history=history_of(newest))
    revisions = frame[frame["rule"].str.startswith("revision") & (frame["dataset"] == dataset)]
    assert revisions["implausible_count"].sum() > 0, revisions.to_dict("records")
