"""The serving copy under load: whole publications only, a record BI users can query, old clients.

Real processes throughout: reader processes query the serving DuckDB file while a Dagster run
publishes; DuckDB 1.1.3 (what BI tools' drivers bundle) runs in its own virtualenv.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration.config import load_settings
from orchestration.publish.publication import PUBLICATION_FILE, RELEASES_DIR, SERVING_FILE, current_publication, publish
from tests.client_envs import client_python
from tests.helpers_serving import run_publish, start_readers, stop_readers

pytestmark = pytest.mark.integration

READERS = 4


@pytest.fixture(scope="module")
def build(built_warehouse):
    root, env, _ = built_warehouse
    return root, env


def test_readers_see_only_whole_publications_while_a_run_publishes(build, tmp_path):
    root, env = build
    serving = root / "serving"
    before = current_publication(serving)["publication_id"]
    processes, stop = start_readers(serving / SERVING_FILE, tmp_path, READERS)
    published = []
    try:
        for _ in range(2):  # two real Dagster runs of the publishing assets while the readers read
            result = run_publish(env)
            assert result.success, [str(e.message) for e in result.all_events if e.is_failure]
            published.append(current_publication(serving)["publication_id"])
    finally:
        results = stop_readers(processes, stop)

    assert [r["errors"] for r in results] == [[]] * READERS
    checksums: dict[str, set] = {}
    for r in results:
        assert r["answers"], "a reader got no answer"
        for publication_id, rows, checksum in r["answers"]:
            checksums.setdefault(publication_id, set()).add((rows, checksum))
        # each reader read again after the last publication: it saw it whole
        assert r["answers"][-1][0] == published[-1]
    assert set(checksums) <= {before, *published}
    assert all(len(pairs) == 1 for pairs in checksums.values()), checksums
    with duckdb.connect(str(serving / SERVING_FILE), read_only=True) as conn:
        rows, checksum = conn.execute(
            "select count(*), sum(hash(country_iso3, kpi_id, year, value, source_vintage)) from marts.kpi_annual").fetchone()
    assert checksums[published[-1]] == {(rows, str(checksum))}


def test_serving_dir_holds_file_parquet_record_docs_and_report(build):
    root, _ = build
    serving = root / "serving"
    record = current_publication(serving)
    assert record["storage_version"] == "v1.0.0"
    assert set(record) >= {"publication_id", "published_at", "git_revision", "source_vintages", "row_counts"}
    assert record["source_vintages"]["worldbank_wdi"]["newest"] == "2026-04-08"
    with duckdb.connect(str(serving / SERVING_FILE), read_only=True) as conn:
        row = conn.execute("select publication_id, git_revision, source_vintages, row_counts from marts.publication").fetchone()
        marts = {r[0] for r in conn.execute(
            "select table_name from duckdb_tables() where schema_name = 'marts' and table_name <> 'publication'").fetchall()}
    assert (row[0], row[1]) == (record["publication_id"], record["git_revision"])
    assert json.loads(row[2]) == record["source_vintages"] and json.loads(row[3]) == record["row_counts"]
    assert marts == set(record["row_counts"]) and {"kpi_annual", "kpi_scorecard", "dim_kpi"} <= marts
    for mart in marts:
        assert (serving / "parquet" / f"{mart}.parquet").is_file(), mart
    release = serving / RELEASES_DIR / record["publication_id"]
    assert (serving / "parquet").resolve() == (release / "parquet").resolve()
    assert {path.suffix for path in (serving / "parquet").iterdir()} == {".parquet"}  # readable as datasets: nothing else
    # one pointer: every stable name reaches the current release through `current`
    assert (serving / "current").resolve() == release.resolve()
    for name in (SERVING_FILE, "parquet", "docs", "kpi_report.html", PUBLICATION_FILE):
        assert os.readlink(serving / name) == f"current/{name}", name
    docs = serving / "docs"
    assert docs.resolve().parent.name == record["publication_id"]
    manifest = json.loads((docs / "manifest.json").read_text())
    described = manifest["nodes"]["model.kpi_warehouse.kpi_annual"]["columns"]["value"]["description"]
    assert described
    catalog = json.loads((docs / "catalog.json").read_text())
    assert "value" in {c.lower() for c in catalog["nodes"]["model.kpi_warehouse.kpi_annual"]["columns"]}
    assert "<html" in (docs / "index.html").read_text()[:2000].lower()
    validation = (docs / "validation.html").read_text()
    assert "gx_worldbank_indicator_values" in validation and "unique_combination_of_columns_kpi_annual_country_iso3__kpi_id__year" in validation
    assert "<html" in (serving / "kpi_report.html").read_text()[:200].lower()
    assert (serving / RELEASES_DIR / record["publication_id"] / "kpi_report.html").is_file()


def test_the_build_publishes_the_results_of_its_validation(built_warehouse):
    root, _, result = built_warehouse
    published = [event for event in result.get_asset_materialization_events()
                 if event.asset_key == dg.AssetKey(["serving", "kpi_marts"])]
    publication_id = published[-1].materialization.metadata["publication_id"].value
    release = root / "first_publication"  # the build's own release (see the built_warehouse fixture)
    assert (release / "publication.json").read_text().count(publication_id)
    validation = (release / "docs" / "validation.html").read_text()
    assert "<tr class='ok'><td>raw/worldbank_indicator_values</td><td>gx_worldbank_indicator_values</td><td>passed</td>" in validation
    assert "<td>unique_combination_of_columns_kpi_annual_country_iso3__kpi_id__year</td><td>passed</td>" in validation
    assert "<td>failed</td>" not in validation
    assert "<td>warn_us_assistance_revisions_between_releases</td><td>warning</td>" in validation
    report = (release / "kpi_report.html").read_text()
    assert publication_id in report


def test_a_crashed_publish_leaves_nothing_the_next_one_keeps(build, tmp_path):
    root, env = build
    serving = tmp_path / "serving"
    settings = load_settings({**env, "KPI_SERVING_DIR": str(serving)})
    first = publish(settings)
    # what a publish killed half-way leaves behind: a half-made pointer, an unfinished release, and a
    # release finished but never switched in
    (serving / ".current.partial").symlink_to(Path(RELEASES_DIR) / "20990101T000000Z-dead00", target_is_directory=True)
    unfinished = serving / RELEASES_DIR / "20990101T000000Z-dead00"
    (unfinished / "parquet").mkdir(parents=True)
    (unfinished / "parquet" / "kpi_annual.parquet").write_bytes(b"partial")
    never_switched = serving / RELEASES_DIR / "20990101T000001Z-dead01"
    shutil.copytree(serving / RELEASES_DIR / first["publication_id"], never_switched)
    assert current_publication(serving)["publication_id"] == first["publication_id"]  # readers never saw them

    second = publish(settings)
    assert sorted(second["cleaned_stale"]) == sorted([
        ".current.partial", f"{RELEASES_DIR}/20990101T000000Z-dead00", f"{RELEASES_DIR}/20990101T000001Z-dead01",
    ])
    assert not unfinished.exists() and not never_switched.exists()
    assert [p.name for p in serving.iterdir() if p.name.startswith(".")] == []
    assert {p.name for p in (serving / RELEASES_DIR).iterdir()} == {first["publication_id"], second["publication_id"]}
    assert (serving / RELEASES_DIR / first["publication_id"] / PUBLICATION_FILE).is_file()
    assert current_publication(serving)["publication_id"] == second["publication_id"]


def test_a_publish_killed_before_its_switch_changes_nothing_readers_see(build, tmp_path, monkeypatch):
    """Everything of a publication is written in its own release directory; only the rename of
    ``current`` makes it visible, so dying before it leaves every stable name on the old one."""
    import orchestration.publish.publication as publishing

    root, env = build
    serving = tmp_path / "serving"
    settings = load_settings({**env, "KPI_SERVING_DIR": str(serving)})
    first = publish(settings)
    before = {name: (serving / name).resolve() for name in (SERVING_FILE, "parquet", "docs", "kpi_report.html", PUBLICATION_FILE)}

    def die(*args):
        raise KeyboardInterrupt("killed before the switch")

    monkeypatch.setattr(publishing, "_switch", die)
    with pytest.raises(KeyboardInterrupt):
        publish(settings)
    assert {name: (serving / name).resolve() for name in before} == before
    assert current_publication(serving)["publication_id"] == first["publication_id"]
    assert {p.name for p in (serving / RELEASES_DIR).iterdir()} == {first["publication_id"]}  # the candidate is gone


def test_the_layout_before_publications_had_a_pointer_is_replaced_in_place(build, tmp_path):
    """A serving directory of the previous layout (a kpi.duckdb file, links straight into a release)
    becomes the new layout at the next publication, without a moment where a name is missing."""
    root, env = build
    serving = tmp_path / "serving"
    old_release = serving / RELEASES_DIR / "20200101T000000Z-old000"
    old_release.mkdir(parents=True)
    shutil.copyfile(root / "serving" / SERVING_FILE, serving / SERVING_FILE)
    (serving / PUBLICATION_FILE).write_text(json.dumps({"publication_id": "20200101T000000Z-old000"}))
    (old_release / PUBLICATION_FILE).write_text(json.dumps({"publication_id": "20200101T000000Z-old000"}))
    (serving / "parquet").symlink_to(Path(RELEASES_DIR) / old_release.name, target_is_directory=True)
    settings = load_settings({**env, "KPI_SERVING_DIR": str(serving)})
    record = publish(settings)
    assert current_publication(serving)["publication_id"] == record["publication_id"]
    assert os.readlink(serving / SERVING_FILE) == f"current/{SERVING_FILE}"
    assert os.readlink(serving / "parquet") == "current/parquet"
    with duckdb.connect(str(serving / SERVING_FILE), read_only=True) as conn:
        assert conn.execute("select publication_id from marts.publication").fetchone()[0] == record["publication_id"]


OLD_CLIENT = r"""
import json, sys
import duckdb
out = {"version": duckdb.__version__}
try:
    conn = duckdb.connect(sys.argv[1], read_only=True)
    out["rows"] = conn.execute("select count(*), sum(value) from marts.kpi_annual").fetchone()
    out["hnd_homicide_2023"] = conn.execute(
        "select value from marts.kpi_annual where country_iso3 = 'HND' and kpi_id = 'homicide_rate' and year = 2023").fetchone()[0]
    out["publication_id"] = conn.execute("select publication_id from marts.publication").fetchone()[0]
    if len(sys.argv) > 2:
        out["parquet_rows"] = duckdb.connect().execute(f"select count(*) from read_parquet('{sys.argv[2]}')").fetchone()[0]
except Exception as exc:
    out["error"] = f"{type(exc).__name__}: {exc}"
print(json.dumps(out))
"""


def _old_client(python: Path, *args: str) -> dict:
    result = subprocess.run([str(python), "-c", OLD_CLIENT, *args], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_a_duckdb_1_1_client_opens_the_serving_copy(build, tmp_path):
    root, _ = build
    serving = root / "serving"
    python = client_python("duckdb11")  # duckdb==1.1.3, hash-pinned
    answer = _old_client(python, str(serving / SERVING_FILE), str(serving / "parquet" / "kpi_annual.parquet"))
    assert answer["version"] == "1.1.3"
    assert "error" not in answer, answer["error"]
    with duckdb.connect(str(serving / SERVING_FILE), read_only=True) as conn:
        expected = conn.execute("select count(*), sum(value) from marts.kpi_annual").fetchone()
        publication_id = conn.execute("select publication_id from marts.publication").fetchone()[0]
    assert answer["rows"][0] == expected[0] and answer["rows"][1] == pytest.approx(expected[1], rel=1e-12)
    assert round(answer["hnd_homicide_2023"], 2) == 31.44
    assert answer["publication_id"] == publication_id
    assert answer["parquet_rows"] == expected[0]

    # the control: DuckDB 2.0's default storage is what 1.1 cannot read
    default_file = tmp_path / "default_storage.duckdb"
    with duckdb.connect(str(default_file)) as conn:
        conn.execute("create schema marts; create table marts.kpi_annual as select 1.0 as value")
    refused = _old_client(python, str(default_file))
    assert "version number" in refused.get("error", ""), refused


def test_a_failed_validation_is_stored_and_appears_in_the_published_data_docs(build, tmp_path):
    """A load's GX result goes to the results store under KPI_VALIDATION_DIR (not the repository), and
    the next publication renders its Data Docs page and carries the site, linked from its report."""
    from orchestration.check.validation import validate_frame
    from orchestration.fetch.archive import list_landings
    from orchestration.sources import worldbank
    from tests.conftest import SNAPSHOT_DIR

    _, env = build
    settings = load_settings({**env, "KPI_SERVING_DIR": str(tmp_path / "serving"),
                              "KPI_VALIDATION_DIR": str(tmp_path / "validation")})
    dataset = "worldbank_indicator_values"
    values = worldbank.SPEC.parse(list_landings(SNAPSHOT_DIR, "worldbank"), settings)[dataset]
    values.loc[values.index[0], "value"] = -5.0  # a negative count or rate: one cell of the real file
    report = validate_frame(dataset, values, settings.validation_dir)
    assert not report.success

    (stored,) = (settings.validation_dir / "results" / dataset).rglob("*.json")
    result = json.loads(stored.read_text())
    assert result["success"] is False
    failed = [item for item in result["results"] if not item["success"]]
    assert {item["expectation_config"]["type"] for item in failed} == {"expect_column_values_to_be_between"}
    assert any(-5.0 in item["result"]["partial_unexpected_list"] for item in failed)

    record = publish(settings)
    release = tmp_path / "serving" / RELEASES_DIR / record["publication_id"]
    data_docs = release / "docs" / "data_docs"
    assert dataset in (data_docs / "index.html").read_text()
    (page,) = (data_docs / "validations" / dataset).rglob("*.html")
    assert "expect_column_values_to_be_between" in page.read_text() or "values must be greater than or equal to" in page.read_text()
    assert "-5.0" in page.read_text()
    assert 'href="docs/data_docs/index.html"' in (release / "kpi_report.html").read_text()
