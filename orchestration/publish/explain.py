"""How a published ``kpi_annual`` cell was made, for a person: ``python -m orchestration.cli explain``
and the report's static page ``docs/kpi_lineage.html``.

Everything is read from a serving copy (``marts.kpi_annual``, ``marts.kpi_lineage``,
``marts.kpi_revisions``), never the warehouse, so the explanation describes exactly what was
published, and a reader with the archived files can check every original without the pipeline.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import duckdb

LINEAGE_PAGE = "kpi_lineage.html"

# how each role enters the cell, in words
ROLE_TEXT = {
    "value": "published value",
    "summand": "summed",
    "factor": "labour force (multiplied)",
    "percent_deducted": "unemployment rate (% deducted)",
    "minuend.factor": "labour force, the year",
    "minuend.percent_deducted": "unemployment rate, the year",
    "subtrahend.factor": "labour force, the year before (subtracted)",
    "subtrahend.percent_deducted": "unemployment rate, the year before (subtracted)",
    "denominator": "population (divides value_per_100k)",
}

CELL_SQL = """
SELECT country_iso3, country_name, kpi_id, kpi_name, year, value, unit, value_per_100k, source_id, source_vintage
FROM marts.kpi_annual {where} ORDER BY kpi_id, country_iso3, year
"""
LINEAGE_SQL = """
SELECT country_iso3, kpi_id, year, role, step, source_id, source_vintage, fetch_id, file_path, file_sha256, source_url,
       location, original_text, original_value, series_id, original_year
FROM marts.kpi_lineage {where}
ORDER BY kpi_id, country_iso3, year, role = 'denominator', role, series_id, original_year DESC, location
"""
REVISIONS_SQL = """
SELECT source_id, country_iso3, series_id, year, vintage, value, previous_vintage, previous_value, is_latest_vintage
FROM marts.kpi_revisions {where} ORDER BY source_id, country_iso3, series_id, year, vintage
"""


@dataclass
class CellExplanation:
    cell: dict
    originals: list[dict] = field(default_factory=list)
    revisions: list[dict] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, str, int]:
        return self.cell["country_iso3"], self.cell["kpi_id"], self.cell["year"]


def cell_anchor(country_iso3: str, kpi_id: str, year: int) -> str:
    """The id of a cell's section on the lineage page (the report links to it)."""
    return f"cell-{country_iso3}-{kpi_id}-{year}"


def _rows(connection, sql: str, params: list) -> list[dict]:
    cursor = connection.execute(sql, params)
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def has_lineage(connection: duckdb.DuckDBPyConnection) -> bool:
    return bool(connection.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'marts' AND table_name = 'kpi_lineage'"
    ).fetchone()[0])


def explanations(connection: duckdb.DuckDBPyConnection, country_iso3: str | None = None, kpi_id: str | None = None,
                 year: int | None = None) -> list[CellExplanation]:
    """The published cells (all, or the one named) with their originals and their release history:
    every vintage of each original's series and year in ``kpi_revisions``."""
    conditions, params = [], []
    for column, value in (("country_iso3", country_iso3), ("kpi_id", kpi_id), ("year", year)):
        if value is not None:
            conditions.append(f"{column} = ?")
            params.append(value)
    where = ("WHERE " + " AND ".join(conditions)) if conditions else ""
    cells = {(row["country_iso3"], row["kpi_id"], row["year"]): CellExplanation(row)
             for row in _rows(connection, CELL_SQL.format(where=where), params)}
    for row in _rows(connection, LINEAGE_SQL.format(where=where), params):
        cell = cells.get((row["country_iso3"], row["kpi_id"], row["year"]))
        if cell is not None:
            cell.originals.append(row)
    revision_conditions = [c for c in conditions if not c.startswith(("kpi_id", "year"))]
    revision_params = [p for c, p in zip(conditions, params) if not c.startswith(("kpi_id", "year"))]
    revisions: dict[tuple, list[dict]] = {}
    revision_where = ("WHERE " + " AND ".join(revision_conditions)) if revision_conditions else ""
    for row in _rows(connection, REVISIONS_SQL.format(where=revision_where), revision_params):
        revisions.setdefault((row["source_id"], row["country_iso3"], row["series_id"], row["year"]), []).append(row)
    for cell in cells.values():
        seen = set()
        for original in cell.originals:
            if original["role"] == "denominator":
                continue  # population's history is not the cell's
            key = (original["source_id"], cell.cell["country_iso3"], original["series_id"], original["original_year"])
            if key not in seen:
                seen.add(key)
                cell.revisions.extend(revisions.get(key, []))
    return list(cells.values())


def format_number(value) -> str:
    if value is None:
        return "(none)"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.6g}" if abs(value) < 1000 else f"{value:,.2f}"


def explain_text(explanation: CellExplanation) -> str:
    """The explanation of one cell as plain text, for a terminal."""
    cell = explanation.cell
    lines = [
        f"{cell['country_name']} ({cell['country_iso3']}), {cell['kpi_name']} ({cell['kpi_id']}), {cell['year']}: "
        f"{format_number(cell['value'])} {cell['unit']}",
        f"  source {cell['source_id']}, release {cell['source_vintage']}",
    ]
    if cell.get("value_per_100k") is not None:
        lines.append(f"  per 100,000 people: {format_number(cell['value_per_100k'])}")
    steps = sorted({original["step"] for original in explanation.originals if original["role"] != "denominator"})
    if steps:
        lines.append("How it was made:")
        lines += [f"  {step}" for step in steps]
    else:
        lines.append("How it was made: no lineage is recorded yet for this source (marts.kpi_lineage covers some sources).")
    if explanation.originals:
        lines.append(f"Originals ({len(explanation.originals)}):")
        for original in explanation.originals:
            lines += [
                f"  - {ROLE_TEXT.get(original['role'], original['role'])}: {format_number(original['original_value'])} "
                f"(printed {original['original_text']!r}) {original['series_id']}, {original['original_year']}",
                f"      file     {original['file_path']}  sha256 {original['file_sha256']}",
                f"      location {original['location']}",
                f"      fetched  {original['source_url']}  (release {original['source_vintage']}, fetch {original['fetch_id']})",
            ]
    if explanation.revisions:
        lines.append("Release history (marts.kpi_revisions):")
        for revision in explanation.revisions:
            latest = "  <- published" if revision["is_latest_vintage"] else ""
            lines.append(f"  {revision['series_id']} {revision['year']}: {revision['vintage']}: "
                         f"{format_number(revision['value'])}{latest}")
    else:
        lines.append("Release history: none recorded in marts.kpi_revisions for these originals.")
    return "\n".join(lines)


def lineage_page(cells: list[CellExplanation], publication_id: str = "") -> str:
    """One static page (no script, opens offline) with a section per published cell."""
    sections = []
    for explanation in cells:
        cell = explanation.cell
        anchor = cell_anchor(*explanation.key)
        originals = "".join(
            "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in (
                ROLE_TEXT.get(o["role"], o["role"]), format_number(o["original_value"]), o["original_text"],
                f"{o['series_id']} {o['original_year']}", o["file_path"], o["location"], o["source_vintage"]))
            + f"<td><a href=\"{html.escape(o['source_url'] or '')}\">URL</a></td></tr>"
            for o in explanation.originals)
        steps = sorted({o["step"] for o in explanation.originals if o["role"] != "denominator"})
        history = "".join(f"<li>{html.escape(r['series_id'])} {r['year']}: {html.escape(str(r['vintage']))}: "
                          f"{format_number(r['value'])}{' (published)' if r['is_latest_vintage'] else ''}</li>"
                          for r in explanation.revisions)
        sections.append(
            f'<section id="{anchor}"><h2>{html.escape(cell["country_name"])}, {html.escape(cell["kpi_name"])}, '
            f'{cell["year"]}: {format_number(cell["value"])} {html.escape(cell["unit"])}</h2>'
            f'<p>Source {html.escape(cell["source_id"])}, release {html.escape(str(cell["source_vintage"]))}.</p>'
            + (f"<p>{'<br>'.join(html.escape(step) for step in steps)}</p>" if steps
               else "<p>No lineage is recorded yet for this source.</p>")
            + (f"<table><thead><tr><th>Role</th><th>Value</th><th>Printed</th><th>Series, year</th><th>File</th>"
               f"<th>Location</th><th>Release</th><th>Fetched from</th></tr></thead><tbody>{originals}</tbody></table>"
               if originals else "")
            + (f"<ul>{history}</ul>" if history else "")
            + "</section>")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>KPI warehouse: where each published value comes from</title>
<style>body{{font-family:system-ui,sans-serif;margin:1.5em;max-width:80em}}table{{border-collapse:collapse;font-size:.85em}}
td,th{{border:1px solid #ccc;padding:.2em .4em;text-align:left}}section{{margin-bottom:1.5em}}section:target{{background:#fff6d5}}</style>
</head><body><h1>Where each published value comes from</h1>
<p>Publication {html.escape(publication_id)}. Each value of marts.kpi_annual with the publisher's originals it is made
from (marts.kpi_lineage): the archived file (relative to the landing archive or the bundled snapshot), the value's place in it,
the text printed there, and the releases that published it (marts.kpi_revisions).</p>
{''.join(sections)}
</body></html>
"""


def write_lineage_page(connection: duckdb.DuckDBPyConnection, docs_dir, publication_id: str = "") -> str | None:
    """Write ``docs/kpi_lineage.html`` from a serving copy that has ``marts.kpi_lineage``; its name, or None."""
    if not has_lineage(connection):
        return None
    (docs_dir / LINEAGE_PAGE).write_text(lineage_page(explanations(connection), publication_id), encoding="utf-8")
    return LINEAGE_PAGE
