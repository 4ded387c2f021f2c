"""Scale runs: the pipeline and the floor on k synthetic releases of the CBP encounters CSV.

Why releases: raw.cbp_sbo_encounters_monthly is unique per (fiscal year, month, component,
demographic, citizenship, title of authority, encounter type, vintage), and CBP republishes its
whole multi-year file every month while the warehouse keeps every vintage. So the warehouse grows
by releases: scale factor k = k releases of about 10,000 rows each (1x ~ 10k rows, 1000x ~ 10M).

A synthetic release is a CSV in exactly the publisher's format (header, vocabularies, CRLF, the
"2025 (FYTD)" label and "FYTD"/"Remaining" month groups, zero cells omitted) with a manifest.json,
in its own landing directory, named after a distinct release date (so a distinct vintage). Its
counts follow the real OHSS workbook's monthly Southwest-border Border Patrol figures per
citizenship (FY2000 on; the FY2025 months it lacks are the FY2024 months scaled), split into the
CSV's components, demographics and titles by fixed shares per citizenship, all scaled by one
factor so that a release has ~10,000 non-zero cells, and drawn from a seeded RNG; each release
revises the last two fiscal years slightly. Citizenships: every warehouse
country (dbt_project/seeds/countries.csv) that cbp.py keeps, and the publisher's group "Other"
(every other citizenship of the workbook). The generated snapshot links the bundled snapshot's
other sources and the real OHSS landing; the real CBP CSV is left out (the synthetic releases
replace it).

Run by hand (prints its own figures; bench/run.py imports the functions):

    .venv/bin/python -m bench.scale                        # factors 1, 10, 100, 1000, then the incremental figure
    .venv/bin/python -m bench.scale --factors 1,10 --no-incremental
    .venv/bin/python -m bench.scale --generate-only 10 --out /tmp/snap10   # keep a generated snapshot

Work directories go under a temp dir ($BENCH_WORK_DIR to choose where) and are removed afterwards.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make `bench` and `orchestration` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from bench.common import print_rows, python_executable, rate, run_cli, run_measured, work_root
from orchestration.core.countries import countries as seed_countries
from orchestration.core.settings import BUNDLED_SNAPSHOT_DIR
from orchestration.sources import cbp
from orchestration.fetch.archive import MANIFEST_NAME, sha256_bytes

DEFAULT_FACTORS = (1, 10, 100, 1000)
INCREMENTAL_HISTORIES = (1, 20)
INCREMENTAL_YEARS = (2024, 2024)
OHSS_LANDING = "ohss-khsm-encounters-usbp-fy25m11"
OHSS_WORKBOOK = BUNDLED_SNAPSHOT_DIR / "cbp" / OHSS_LANDING / "KHSM_Encounters_USBP_fy25m11.xlsx"
SOUTHWEST = "Southwest Land Border"
OTHER_GROUP = "Other"
SEED = 20250915

FIRST_FISCAL_YEAR = 2000
LATEST_FISCAL_YEAR = 2025  # published to date, as the real file's "2025 (FYTD)"
LATEST_FISCAL_MONTH = 11  # August: the real file is "fy22-fy25-aug"
LAST_RELEASE_DATE = dt.date(2025, 9, 15)
# Title 42 expulsions: March 2020 (FY2020 month 6) to May 2023 (FY2023 month 8)
TITLE_42_FROM, TITLE_42_TO = (2020, 6), (2023, 8)
ROWS_PER_RELEASE = 10_000  # the unit of scale: 1x = one release
REVISED_FISCAL_YEARS = (2024, 2025)  # a release revises only the recent years
REVISION_SHARE = 0.2  # of the recent cells, revised by each release
REVISION_SCALE = 0.02  # relative size of a revision

CSV_HEADER = ("Fiscal Year,Month Grouping,Month (abbv),Component,Demographic,Citizenship Grouping,"
              "Title of Authority,Encounter Type,Encounter Count")
EOL = "\r\n"  # as the publisher's file
CBP_FILES_URL = "https://www.cbp.gov/sites/default/files"  # where the landing page links the CSV
USBP, OFO = "U.S. Border Patrol", "Office of Field Operations"


@dataclass(frozen=True)
class Cell:
    """A column of the publisher's table below the citizenship: who encountered whom, under which title."""

    component: str
    demographic: str
    title: str
    encounter_type: str


# The combinations the real file has (see its Component x Title x Type x Demographic counts).
CELLS = (
    Cell(OFO, "Accompanied Minors", "Title 8", "Inadmissibles"),
    Cell(OFO, "FMUA", "Title 8", "Inadmissibles"),
    Cell(OFO, "Single Adults", "Title 8", "Inadmissibles"),
    Cell(OFO, "UAC", "Title 8", "Inadmissibles"),
    Cell(OFO, "Accompanied Minors", "Title 42", "Expulsions"),
    Cell(OFO, "Single Adults", "Title 42", "Expulsions"),
    Cell(USBP, "FMUA", "Title 8", "Apprehensions"),
    Cell(USBP, "Single Adults", "Title 8", "Apprehensions"),
    Cell(USBP, "UAC", "Title 8", "Apprehensions"),
    Cell(USBP, "FMUA", "Title 42", "Expulsions"),
    Cell(USBP, "Single Adults", "Title 42", "Expulsions"),
    Cell(USBP, "UAC", "Title 42", "Expulsions"),
)


# --- who is in the file ---------------------------------------------------------------------------

@lru_cache(maxsize=1)
def cbp_countries() -> tuple[str, ...]:
    """Warehouse countries whose citizens the border figures count: every seed country the OHSS
    workbook names (cbp.py fails a load whose configured country it cannot find there; the
    workbook has no United States, whose citizens are never encountered as aliens)."""
    published = set(southwest_usbp_monthly()["citizenship_code"])
    return tuple(code for code in seed_countries() if code in published)


def citizenship_names() -> dict[str, str]:
    """Citizenship as the CSV spells it, per code (the group "Other" under cbp.py's own name for it)."""
    names = {code: seed_countries()[code]["country_name"] for code in cbp_countries()}
    return {**names, "OTHER": OTHER_GROUP}


@lru_cache(maxsize=1)
def southwest_usbp_monthly() -> pd.DataFrame:
    """The real OHSS workbook's Southwest border Border Patrol encounters per citizenship code
    (countries the warehouse knows; every other citizenship summed into OTHER) and fiscal month."""
    sheets = cbp.read_workbook(OHSS_WORKBOOK.read_bytes(), str(OHSS_WORKBOOK))
    table = cbp.table_with_headers(sheets, cbp.OHSS_MONTHLY_HEADERS, str(OHSS_WORKBOOK))
    table = table[table["Region"].map(lambda v: " ".join(str(v).split())) == SOUTHWEST]
    names = table["Citizenship"].map(lambda v: " ".join(str(v).split()))
    codes = {name: cbp.classify_citizenship(name, {}) for name in names.unique()}
    months = {label: cbp.parse_ohss_month(label)[0] for label in table["Month"].unique()}
    return pd.DataFrame({
        "citizenship_code": names.map(codes).fillna("OTHER").to_numpy(),
        "fiscal_year": table["Fiscal Year"].map(lambda v: cbp.parse_fiscal_year_label(v)[0]).to_numpy(),
        "fiscal_month": table["Month"].map(months).to_numpy(),
        "encounters": pd.to_numeric(table["Quantity"]).to_numpy(),
    }).groupby(["citizenship_code", "fiscal_year", "fiscal_month"], as_index=False)["encounters"].sum()


# --- the counts ----------------------------------------------------------------------------------

def fiscal_months() -> list[tuple[int, int]]:
    """(fiscal year, fiscal month) of every month a release covers, oldest first."""
    return [(year, month) for year in range(FIRST_FISCAL_YEAR, LATEST_FISCAL_YEAR + 1) for month in range(1, 13)
            if (year, month) <= (LATEST_FISCAL_YEAR, LATEST_FISCAL_MONTH)]


def border_patrol_volume(groups: list[str]) -> np.ndarray:
    """Border Patrol encounters per (group, month of ``fiscal_months()``) from the OHSS workbook.
    The workbook has only the first months of the latest year: the rest are last year's months,
    scaled by how the months it has compare."""
    published = southwest_usbp_monthly().set_index(["citizenship_code", "fiscal_year", "fiscal_month"])["encounters"]
    months = fiscal_months()
    index = pd.MultiIndex.from_tuples([(group, year, month) for group in groups for year, month in months])
    volume = np.array(published.reindex(index), dtype=float).reshape(len(groups), len(months))
    latest = [i for i, (year, _) in enumerate(months) if year == LATEST_FISCAL_YEAR]
    known = [i for i in latest if not np.isnan(volume[:, i]).all()]
    year_before = [i - 12 for i in latest]
    ratio = np.nansum(volume[:, known], axis=1) / np.maximum(np.nansum(volume[:, [i - 12 for i in known]], axis=1), 1)
    for i, previous in zip(latest, year_before):
        if i not in known:
            volume[:, i] = volume[:, previous] * ratio
    return np.nan_to_num(volume)


def cell_shares(groups: list[str], rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(shares outside Title 42, shares in the Title 42 months): per group, the fraction of its
    Border Patrol volume that each cell of CELLS gets. Fixed per group, drawn around typical mixes."""
    normal = np.zeros((len(groups), len(CELLS)))
    title_42 = np.zeros((len(groups), len(CELLS)))
    column = {cell: i for i, cell in enumerate(CELLS)}
    for g, group in enumerate(groups):
        mexican = group == "MEX"
        usbp_mix = rng.dirichlet(50 * np.array([0.05, 0.90, 0.05] if mexican else [0.30, 0.55, 0.15]))
        ofo_mix = rng.dirichlet(50 * np.array([0.05, 0.30, 0.60, 0.05]))
        ofo_ratio = rng.uniform(0.03, 0.4)  # port-of-entry inadmissibles per Border Patrol encounter
        expelled = rng.uniform(0.7, 0.9) if mexican else rng.uniform(0.3, 0.6)
        for demographic, share in zip(("FMUA", "Single Adults", "UAC"), usbp_mix):
            normal[g, column[Cell(USBP, demographic, "Title 8", "Apprehensions")]] = share
            # unaccompanied children were soon exempted from Title 42: few were expelled
            out = expelled * (0.05 if demographic == "UAC" else 1)
            title_42[g, column[Cell(USBP, demographic, "Title 8", "Apprehensions")]] = share * (1 - out)
            title_42[g, column[Cell(USBP, demographic, "Title 42", "Expulsions")]] = share * out
        for demographic, share in zip(("Accompanied Minors", "FMUA", "Single Adults", "UAC"), ofo_mix):
            inadmissible = column[Cell(OFO, demographic, "Title 8", "Inadmissibles")]
            normal[g, inadmissible] = title_42[g, inadmissible] = ofo_ratio * share
            if demographic in ("Accompanied Minors", "Single Adults"):
                title_42[g, inadmissible] = ofo_ratio * share * 0.9
                title_42[g, column[Cell(OFO, demographic, "Title 42", "Expulsions")]] = ofo_ratio * share * 0.1
    return normal, title_42


def volume_scale_for(expected: np.ndarray, rows: int) -> float:
    """The one factor on every cell's expected count that leaves ``rows`` non-zero cells on average.

    At the workbook's own volumes 17 citizenships x 26 years x 12 cells fill ~29,000 rows; the
    benchmark's unit is a release of ~10,000, so every count is scaled alike (the mix across
    citizenships, months and cells stays the workbook's) until that many cells are non-zero.
    """
    def non_zero(scale: float) -> float:  # expected non-zero Poisson draws
        return float((-np.expm1(-scale * expected)).sum())

    low, high = 1e-9, 1.0
    if non_zero(high) <= rows:
        return high
    for _ in range(60):  # bisection on a log scale
        middle = (low * high) ** 0.5
        low, high = (middle, high) if non_zero(middle) < rows else (low, middle)
    return high


@dataclass(frozen=True)
class PublisherTable:
    """Every possible row of a release (group x month x cell, flattened) and its base count."""

    line_prefixes: pa.Array  # "2000,FYTD,OCT,Office of Field Operations,...,Inadmissibles," per row
    base_counts: np.ndarray  # int64
    revisable: np.ndarray  # bool: in the years each release revises

    def release(self, rng: np.random.Generator) -> np.ndarray:
        """One release's counts: the base, with a few of the recent cells revised a little."""
        counts = self.base_counts.copy()
        revised = self.revisable & (rng.random(counts.size) < REVISION_SHARE)
        deltas = np.rint(rng.normal(0, REVISION_SCALE * counts[revised] + 0.5)).astype(np.int64)
        counts[revised] = np.maximum(counts[revised] + deltas, 0)
        return counts


@lru_cache(maxsize=1)
def publisher_table() -> PublisherTable:
    rng = np.random.default_rng(SEED)
    groups = [*cbp_countries(), "OTHER"]
    names = citizenship_names()
    months = fiscal_months()
    volume = border_patrol_volume(groups)  # group x month
    normal, title_42 = cell_shares(groups, rng)  # group x cell
    in_title_42 = np.array([TITLE_42_FROM <= month <= TITLE_42_TO for month in months])
    shares = np.where(in_title_42[None, :, None], title_42[:, None, :], normal[:, None, :])  # group x month x cell
    expected = volume[:, :, None] * shares
    expected *= volume_scale_for(expected, ROWS_PER_RELEASE)
    base_counts = rng.poisson(expected).astype(np.int64)

    # the publisher's row order: fiscal year, month group, month (alphabetical), component, demographic,
    # citizenship, title, type
    rows = pd.DataFrame(
        [(year, "FYTD" if month <= LATEST_FISCAL_MONTH else "Remaining", cbp.MONTH_ABBREVIATIONS[(month + 8) % 12],
          cell.component, cell.demographic, names[group], cell.title, cell.encounter_type, year == LATEST_FISCAL_YEAR,
          g, m, c)
         for g, group in enumerate(groups) for m, (year, month) in enumerate(months) for c, cell in enumerate(CELLS)],
        columns=["year", "month_group", "month", "component", "demographic", "citizenship", "title", "type", "fytd",
                 "g", "m", "c"],
    ).sort_values(["year", "month_group", "month", "component", "demographic", "citizenship", "title", "type"], kind="stable")
    year_label = rows["year"].astype(str) + np.where(rows["fytd"], " (FYTD)", "")
    prefixes = (year_label + "," + rows["month_group"] + "," + rows["month"] + "," + rows["component"] + "," + rows["demographic"]
                + "," + rows["citizenship"] + "," + rows["title"] + "," + rows["type"] + ",")
    flat = base_counts[rows["g"].to_numpy(), rows["m"].to_numpy(), rows["c"].to_numpy()]
    return PublisherTable(
        line_prefixes=pa.array(prefixes.to_numpy(dtype=object), type=pa.string()),
        base_counts=flat,
        revisable=rows["year"].isin(REVISED_FISCAL_YEARS).to_numpy(),
    )


def csv_body(table: PublisherTable, counts: np.ndarray) -> tuple[bytes, int]:
    """The release's CSV bytes (zero cells omitted, as the publisher does) and its data rows."""
    published = counts > 0
    lines = pc.binary_join_element_wise(
        table.line_prefixes.filter(pa.array(published)), pc.cast(pa.array(counts[published]), pa.string()),
        pa.scalar(EOL), "")
    # the joined strings are contiguous in the array's data buffer: that buffer is the file body
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32, count=len(lines) + 1, offset=lines.offset * 4)
    body = lines.buffers()[2].to_pybytes()[offsets[0]:offsets[-1]]
    return (CSV_HEADER + EOL).encode() + body, int(published.sum())


# --- landings -----------------------------------------------------------------------------------

def release_dates(k: int) -> list[dt.date]:
    """One distinct date per release, a day apart, the newest LAST_RELEASE_DATE."""
    return [LAST_RELEASE_DATE - dt.timedelta(days=k - 1 - i) for i in range(k)]


def release_file_name(released: dt.date) -> str:
    # cbp.vintage_of() is the file name without extension: the date makes each release's vintage
    # distinct, and sorting vintages sorts releases (the label tie-break of dbt's newest_vintage_rows)
    return f"sbo-encounters-fy{FIRST_FISCAL_YEAR % 100:02d}-fy{LATEST_FISCAL_YEAR % 100:02d}-aug-{released:%Y%m%d}.csv"


def write_landing(cbp_dir: Path, released: dt.date, body: bytes) -> Path:
    """A complete landing (the CSV, then its manifest, as transport.LandingWriter leaves one)."""
    file_name = release_file_name(released)
    landing = cbp_dir / f"cbp-sbo-synthetic-{released:%Y%m%d}"
    landing.mkdir(parents=True)
    (landing / file_name).write_bytes(body)
    fetched_at = dt.datetime.combine(released, dt.time(6), tzinfo=dt.timezone.utc).isoformat(timespec="seconds")
    manifest = {
        "source": cbp.SOURCE,
        "fetch_id": landing.name,
        "complete": True,
        "licence": cbp.LICENCE,
        "metadata": {"synthetic": "bench/scale.py: generated from the OHSS workbook's monthly figures; not publisher data"},
        "entries": [{
            "file": file_name, "url": f"{CBP_FILES_URL}/{released:%Y-%m}/{file_name}", "status": 200, "sha256": sha256_bytes(body),
            "bytes": len(body), "content_type": "text/csv", "etag": None, "last_modified": None, "fetched_at": fetched_at,
        }],
    }
    (landing / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2))
    return landing


def link_real_sources(out_dir: Path) -> None:
    """Every other source of the bundled snapshot and the real OHSS workbook, linked rather than copied
    (a full build needs every source)."""
    for source_dir in sorted(BUNDLED_SNAPSHOT_DIR.iterdir()):
        if source_dir.is_dir() and source_dir.name != "cbp":
            (out_dir / source_dir.name).symlink_to(source_dir, target_is_directory=True)
    (out_dir / "cbp").mkdir()
    (out_dir / "cbp" / OHSS_LANDING).symlink_to(BUNDLED_SNAPSHOT_DIR / "cbp" / OHSS_LANDING, target_is_directory=True)


def generate_snapshot(k: int, out_dir: Path) -> tuple[Path, int]:
    """A replay snapshot with ``k`` synthetic CBP releases in ``out_dir`` (created; must not exist
    or be empty). Returns the directory and the synthetic CSV rows written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    if any(out_dir.iterdir()):
        raise FileExistsError(f"{out_dir} is not empty")
    link_real_sources(out_dir)
    table = publisher_table()
    rng = np.random.default_rng([SEED, k])
    rows = 0
    for released in release_dates(k):
        body, release_rows = csv_body(table, table.release(rng))
        write_landing(out_dir / "cbp", released, body)
        rows += release_rows
    return out_dir, rows


# --- measured runs -----------------------------------------------------------------------------

def run_pipeline(snapshot_dir: Path, work_dir: Path, command: tuple[str, ...] = ("run",),
                 timeout: float | None = None) -> dict:
    """``python -m orchestration.cli <command>`` on the snapshot, everything written under ``work_dir``."""
    measured = run_cli(snapshot_dir, work_dir, command, cbp_countries(), timeout)
    return {
        "command": " ".join(command),
        "seconds": measured.seconds,
        "exit_code": measured.returncode,
        "peak_rss_mb": measured.peak_rss_mb,
        "peak_tree_rss_mb": measured.peak_tree_rss_mb,
        "output_tail": (measured.stdout + measured.stderr)[-3000:],
        "warehouse": str(work_dir / "warehouse" / "kpi.duckdb"),
    }


def run_floor_measured(snapshot_dir: Path, work_dir: Path, manifest_path: Path | None = None,
                       timeout: float | None = None) -> dict:
    """bench.floor in a child process (for its peak memory); its own figures plus wall seconds and peak RSS."""
    work_dir.mkdir(parents=True, exist_ok=True)
    command = [python_executable(), "-m", "bench.floor", "--json", "--snapshot", str(snapshot_dir),
               "--work-dir", str(work_dir), "--countries", ",".join(cbp_countries())]
    if manifest_path:
        command += ["--manifest", str(manifest_path)]
    env = {key: value for key, value in os.environ.items() if not key.startswith("KPI_")}
    measured = run_measured(command, env, timeout=timeout)
    if measured.returncode != 0:
        return {"exit_code": measured.returncode, "seconds": None, "process_seconds": measured.seconds,
                "peak_rss_mb": measured.peak_rss_mb, "output_tail": (measured.stdout + measured.stderr)[-3000:]}
    result = json.loads(measured.stdout.strip().splitlines()[-1])
    return {**result, "exit_code": 0, "process_seconds": measured.seconds, "peak_rss_mb": measured.peak_rss_mb,
            "peak_tree_rss_mb": measured.peak_tree_rss_mb}


def raw_cbp_rows(warehouse: Path) -> int | None:
    """Rows the pipeline loaded into raw.cbp_sbo_encounters_monthly (None when it loaded none)."""
    if not warehouse.exists():
        return None
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        try:
            return conn.execute(f"SELECT count(*) FROM raw.{cbp.CBP_MONTHLY}").fetchone()[0]
        except duckdb.CatalogException:
            return None


def scale_result(k: int, root: Path, manifest_path: Path | None = None, timeout: float | None = None) -> dict:
    """Generate k releases, then time the pipeline's full build and the floor on them."""
    started = time.perf_counter()
    snapshot_dir, rows = generate_snapshot(k, root / f"snapshot-{k}")
    generate_seconds = time.perf_counter() - started
    pipeline = run_pipeline(snapshot_dir, root / f"pipeline-{k}", ("run",), timeout=timeout)
    pipeline["raw_cbp_rows"] = raw_cbp_rows(Path(pipeline["warehouse"]))
    floor = run_floor_measured(snapshot_dir, root / f"floor-{k}", manifest_path, timeout=timeout)
    floor_seconds = floor["seconds"]["total"] if floor.get("exit_code") == 0 else None
    return {
        "factor": k,
        "releases": k,
        "rows": rows,
        "generate_seconds": generate_seconds,
        "pipeline_seconds": pipeline["seconds"],
        "pipeline_exit_code": pipeline["exit_code"],
        "pipeline_rows_per_second": rate(rows, pipeline["seconds"]),
        "pipeline_peak_rss_mb": pipeline["peak_rss_mb"],
        "pipeline_peak_tree_rss_mb": pipeline["peak_tree_rss_mb"],
        "floor_seconds": floor_seconds,
        "floor_phase_seconds": floor.get("seconds"),
        "floor_rows_per_second": rate(rows, floor_seconds) if floor_seconds else None,
        "floor_peak_rss_mb": floor.get("peak_rss_mb"),
        "ratio": pipeline["seconds"] / floor_seconds if floor_seconds else None,
        "pipeline": pipeline,
        "floor": floor,
    }


def scale_results(factors=DEFAULT_FACTORS, timeout: float | None = None, on_result=None) -> list[dict]:
    """One scale_result per factor, each in its own work directory (removed afterwards)."""
    from bench.floor import compile_manifest

    results = []
    with work_root("kpi-scale-") as root:
        manifest_path = compile_manifest(root)
        for k in factors:
            result = scale_result(k, root / f"x{k}", manifest_path, timeout)
            results.append(result)
            if on_result:
                on_result(result)
            shutil.rmtree(root / f"x{k}", ignore_errors=True)  # 1000x leaves ~3 GB
    return results


def incremental_results(histories=INCREMENTAL_HISTORIES, years=INCREMENTAL_YEARS, timeout: float | None = None) -> dict:
    """A one-year backfill on warehouses holding 1 and 20 releases of history: seconds each and the ratio."""
    runs = {}
    with work_root("kpi-incremental-") as root:
        for k in histories:
            snapshot_dir, rows = generate_snapshot(k, root / f"snapshot-{k}")
            work_dir = root / f"pipeline-{k}"
            build = run_pipeline(snapshot_dir, work_dir, ("run",), timeout=timeout)
            backfill = run_pipeline(snapshot_dir, work_dir, ("backfill", "--from", str(years[0]), "--to", str(years[1])),
                                    timeout=timeout)
            runs[k] = {"rows": rows, "build_seconds": build["seconds"], "build_exit_code": build["exit_code"],
                       "backfill_seconds": backfill["seconds"], "backfill_exit_code": backfill["exit_code"],
                       "backfill_peak_rss_mb": backfill["peak_rss_mb"], "backfill_output_tail": backfill["output_tail"]}
    small, large = histories[0], histories[-1]
    return {
        "years": f"{years[0]}-{years[1]}",
        "histories": runs,
        "ratio": runs[large]["backfill_seconds"] / runs[small]["backfill_seconds"],
        "ratio_label": f"{large}x/{small}x",
    }


# --- the script ------------------------------------------------------------------------------------

def print_scale(results: list[dict]) -> None:
    print_rows(
        ["factor", "rows", "pipeline s", "floor s", "pipeline rows/s", "floor rows/s", "ratio", "pipeline peak MB",
         "floor peak MB", "exit"],
        [[f"{r['factor']}x", r["rows"], r["pipeline_seconds"], r["floor_seconds"], r["pipeline_rows_per_second"],
          r["floor_rows_per_second"], r["ratio"], r["pipeline_peak_rss_mb"], r["floor_peak_rss_mb"], r["pipeline_exit_code"]]
         for r in results])


def print_incremental(result: dict) -> None:
    print_rows(["history", "rows", "full build s", f"backfill {result['years']} s", "exit"],
               [[f"{k}x", run["rows"], run["build_seconds"], run["backfill_seconds"], run["backfill_exit_code"]]
                for k, run in result["histories"].items()])
    print(f"ratio {result['ratio_label']}: {result['ratio']:.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__.split("\n\n")[0])
    parser.add_argument("--factors", default=",".join(map(str, DEFAULT_FACTORS)), help="comma-separated scale factors")
    parser.add_argument("--no-scale", action="store_true", help="skip the scale runs")
    parser.add_argument("--no-incremental", action="store_true", help="skip the one-year backfill figure")
    parser.add_argument("--timeout", type=float, help="stop a run after this many seconds")
    parser.add_argument("--generate-only", type=int, metavar="K", help="only write a snapshot of K releases to --out")
    parser.add_argument("--out", type=Path, help="with --generate-only: the snapshot directory")
    parser.add_argument("--json", action="store_true", help="also print the results as JSON")
    args = parser.parse_args(argv)

    if args.generate_only:
        if not args.out:
            parser.error("--generate-only needs --out")
        started = time.perf_counter()
        snapshot_dir, rows = generate_snapshot(args.generate_only, args.out)
        print(f"{snapshot_dir}: {args.generate_only} release(s), {rows:,} rows in {time.perf_counter() - started:.1f} s")
        return 0

    results: dict = {}
    if not args.no_scale:
        factors = tuple(int(k) for k in args.factors.split(",") if k.strip())
        print(f"scale runs, factors {', '.join(f'{k}x' for k in factors)} (countries {','.join(cbp_countries())})", flush=True)

        def progress(result: dict) -> None:
            print_scale([result])
            print(flush=True)

        results["scale"] = scale_results(factors, args.timeout, on_result=progress)
        print_scale(results["scale"])
    if not args.no_incremental:
        print("\nincremental: one-year backfill on 1x and 20x history", flush=True)
        results["incremental"] = incremental_results(timeout=args.timeout)
        print_incremental(results["incremental"])
    if args.json:
        print(json.dumps(results, default=str))
    failed = [r for r in results.get("scale", []) if r["pipeline_exit_code"] != 0]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
