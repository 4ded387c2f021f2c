"""Scaffold a new source from the project's conventions: its package, suite, dbt models, snapshot
landing, KPI seed row and test, from the templates in ``scripts/source_template/``.

    .venv/bin/python scripts/new_source.py ilostat_employment \
        --title "ILOSTAT employment by sex and age" --publisher "ILO, ILOSTAT" --licence "CC BY 4.0" \
        --url https://rplumber.ilo.org/data/indicator/?id=EMP_TEMP_SEX_AGE_NB_A&format=.csv \
        --sample EMP_TEMP_SEX_AGE_NB_A.csv --release-date 2026-03-25 \
        --country-column ref_area.label --country-is-name --year-column time --value-column obs_value \
        --filter sex.label=Total --filter "classif1.label=Age (Youth, adults): 15+" \
        --kpi-id employment_ilostat --kpi-name "Employed persons (ILOSTAT, thousands)" --unit "thousands of persons"

Writes only new files (it refuses to overwrite) and appends the KPI's row to
``dbt_project/seeds/dim_kpi_definitions.csv``: nothing else in the project changes, because the
loaders, settings, freshness, plausibility, ``kpi_annual``, ``kpi_revisions``, ``dim_kpi`` and the
report find sources by discovery. docs/adding-a-source.md says what to adapt next.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import re
import subprocess
import sys
from pathlib import Path
from string import Template

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_DIR = Path(__file__).resolve().parent / "source_template"
SEED = Path("dbt_project/seeds/dim_kpi_definitions.csv")
SEED_COLUMNS = ["kpi_id", "kpi_name", "programme", "unit", "better_direction", "baseline_year", "source_id", "derivation",
                "strategy_area", "framework_kpi", "publisher", "year_basis", "measure_kind"]


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", help="the source's package name: lower case letters, digits and _ (e.g. ilostat_employment)")
    parser.add_argument("--root", type=Path, default=PROJECT_ROOT, help="the project to add it to (default: this one)")
    parser.add_argument("--title", required=True)
    parser.add_argument("--publisher", required=True, help="as a reader would cite it")
    parser.add_argument("--licence", required=True)
    parser.add_argument("--url", required=True, help="where live mode fetches the file (KPI_<NAME>_FILE_URL's default)")
    parser.add_argument("--sample", type=Path, required=True, help="a real file of the publisher: the snapshot's first release")
    parser.add_argument("--release-date", type=dt.date.fromisoformat, help="the sample's release date (default: today)")
    parser.add_argument("--country-column", required=True)
    parser.add_argument("--country-is-name", action="store_true", help="the column holds country names, not ISO3 codes")
    parser.add_argument("--year-column", required=True)
    parser.add_argument("--value-column", required=True)
    parser.add_argument("--filter", action="append", default=[], metavar="COLUMN=VALUE", help="keep only these rows (repeatable)")
    parser.add_argument("--kpi-id", required=True)
    parser.add_argument("--kpi-name", required=True)
    parser.add_argument("--unit", required=True)
    parser.add_argument("--programme", default="Other measures")
    parser.add_argument("--strategy-area", default="Economic development")
    parser.add_argument("--better-direction", choices=("higher", "lower", "none"), default="none")
    parser.add_argument("--baseline-year", type=int, default=2010)
    parser.add_argument("--year-basis", choices=("calendar", "us_fiscal"), default="calendar")
    parser.add_argument("--measure-kind", choices=("count", "rate", "percent", "amount"), default="amount")
    parser.add_argument("--cadence", default="annual")
    parser.add_argument("--warn-after-days", type=int, default=400)
    parser.add_argument("--fail-after-days", type=int, default=550)
    parser.add_argument("--floor", type=float, default=1.0, help="values below this in both releases are not compared")
    args = parser.parse_args(argv)
    if not re.fullmatch(r"[a-z][a-z0-9_]*", args.name):
        parser.error(f"name {args.name!r}: use lower case letters, digits and _")
    if not re.fullmatch(r"[a-z][a-z0-9_]*", args.kpi_id):
        parser.error(f"--kpi-id {args.kpi_id!r}: use lower case letters, digits and _")
    if any("=" not in item for item in args.filter):
        parser.error("--filter takes COLUMN=VALUE")
    return args


def template_values(args: argparse.Namespace) -> dict[str, str]:
    filters = dict(item.split("=", 1) for item in args.filter)
    return {
        "name": args.name, "NAME": args.name.upper(), "title": args.title, "publisher": args.publisher,
        "licence": args.licence, "url": args.url, "source_id": args.name, "kpi_id": args.kpi_id, "kpi_name": args.kpi_name,
        "unit": args.unit, "cadence": args.cadence, "warn_after_days": str(args.warn_after_days),
        "fail_after_days": str(args.fail_after_days), "floor": repr(args.floor),
        "country_column": args.country_column, "country_is_name": str(args.country_is_name),
        "country_kind": "country names, matched to ISO3 through the country seeds" if args.country_is_name else "ISO3 codes",
        "year_column": args.year_column, "value_column": args.value_column, "filters": repr(filters),
        "filters_text": " and ".join(f"{column} is {value!r}" for column, value in filters.items()) or "every row",
    }


def planned_files(root: Path, name: str) -> dict[Path, Path]:
    """Template -> target, for every template file."""
    return {template: root / str(template.relative_to(TEMPLATE_DIR)).replace("__NAME__", name).removesuffix(".tmpl")
            for template in sorted(TEMPLATE_DIR.rglob("*.tmpl"))}


def seed_row(args: argparse.Namespace) -> dict[str, str]:
    return {"kpi_id": args.kpi_id, "kpi_name": args.kpi_name, "programme": args.programme, "unit": args.unit,
            "better_direction": args.better_direction, "baseline_year": str(args.baseline_year), "source_id": args.name,
            "derivation": f"{args.value_column} of {args.title} as published ({' and '.join(args.filter) or 'every row'}), "
                          "each country's newest release",
            "strategy_area": args.strategy_area, "framework_kpi": "", "publisher": args.publisher,
            "year_basis": args.year_basis, "measure_kind": args.measure_kind}


def scaffold(args: argparse.Namespace) -> list[Path]:
    root = args.root.resolve()
    sys.path.insert(0, str(root))
    from orchestration.fetch.archive import LandingWriter
    from orchestration.fetch.web import archive_name

    files = planned_files(root, args.name)
    landing_root = root / "snapshot"
    taken = [target for target in files.values() if target.exists()] + ([landing_root / args.name] if (landing_root / args.name).exists() else [])
    with open(root / SEED, newline="", encoding="utf-8") as handle:
        seed = list(csv.DictReader(handle))
    if any(row["kpi_id"] == args.kpi_id for row in seed):
        taken.append(root / SEED)
    if taken:
        raise SystemExit(f"new_source: {args.name} would overwrite {', '.join(str(path) for path in taken)}; nothing written")
    values = template_values(args)
    for template, target in files.items():
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(Template(template.read_text(encoding="utf-8")).substitute(values), encoding="utf-8")
    release = args.release_date or dt.date.today()
    writer = LandingWriter(landing_root, args.name, licence=args.licence, fetch_id=f"{release.isoformat()}__{args.sample.stem}")
    last_modified = dt.datetime.combine(release, dt.time(), dt.timezone.utc).strftime("%a, %d %b %Y %H:%M:%S GMT")
    writer.add(archive_name(args.url) if archive_name(args.url).endswith(".csv") else f"{args.name}.csv", args.sample.read_bytes(),
               url=args.url, headers={"Last-Modified": last_modified, "Content-Type": "text/csv"})
    writer.metadata.update({"release": f"{release.isoformat()} (sample given to scripts/new_source.py)"})
    landing = writer.finish(complete=True)
    with open(root / SEED, "a", newline="", encoding="utf-8") as handle:
        csv.DictWriter(handle, fieldnames=SEED_COLUMNS, lineterminator="\n").writerow(seed_row(args))
    # the suite joins the GX project with the validation definition and checkpoint that run it
    subprocess.run([sys.executable, "-m", "orchestration.check.validation", f"{args.name}_values"], cwd=root, check=True)
    gx_files = [root / "expectations" / store / f"{args.name}_values.json" for store in ("validation_definitions", "checkpoints")]
    return [*files.values(), *gx_files, landing.path, root / SEED]


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    written = scaffold(args)
    root = args.root.resolve()
    print(f"New source {args.name}:")
    for path in written:
        print(f"  {path.relative_to(root)}")
    print("Next: docs/adding-a-source.md (adapt parse.py and the suite to the publisher's file, then make run).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
