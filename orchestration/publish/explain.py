"""How a published ``kpi_annual`` cell was made, for a person: ``python -m orchestration.cli explain``
and the report's offline page ``docs/kpi_lineage.html``.

Everything is read from a serving copy (``marts.kpi_annual``, ``marts.kpi_lineage``,
``marts.kpi_revisions``), never the warehouse, so the explanation describes exactly what was
published, and a reader with the archived files can check every original without the pipeline.
"""

from __future__ import annotations

import html
import json
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
        lines.append("How it was made: no lineage is recorded for this cell in marts.kpi_lineage.")
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


class _Interned:
    """Each distinct value once in a list; rows refer to it by index (the page's data stays small:
    a file's path, sha256 and URL, or a model's step, are shared by thousands of originals)."""

    def __init__(self):
        self.values: list = []
        self._index: dict = {}

    def __call__(self, value) -> int:
        if value not in self._index:
            self._index[value] = len(self.values)
            self.values.append(value)
        return self._index[value]


def _printed_differs(original: dict) -> bool:
    """Whether the text printed in the file says more than the number does (a PDF's line, a
    thousands separator, a decimal as published): otherwise the page shows the number alone."""
    value, text = original["original_value"], original["original_text"]
    if value is None or text is None:
        return text is not None
    plain = str(int(value)) if float(value).is_integer() else repr(value)
    return text != plain


def lineage_data(cells: list[CellExplanation], publication_id: str = "") -> dict:
    """What the page renders, compact: shared strings (files, steps, series, roles, names) once,
    each cell's originals and release history as short rows of indexes and formatted numbers."""
    files, steps, series, roles, names = _Interned(), _Interned(), _Interned(), _Interned(), _Interned()
    data: dict = {"publication": publication_id, "cells": {}}
    for explanation in cells:
        cell = explanation.cell
        originals = [[
            roles(ROLE_TEXT.get(o["role"], o["role"])),
            format_number(o["original_value"]),
            o["original_text"] if _printed_differs(o) else None,
            series(o["series_id"]),
            o["original_year"],
            files((o["file_path"], o["file_sha256"], o["source_url"] or "", str(o["source_vintage"]), o["fetch_id"])),
            o["location"],
        ] for o in explanation.originals]
        history = [[series(r["series_id"]), r["year"], str(r["vintage"]), format_number(r["value"]),
                    1 if r["is_latest_vintage"] else 0] for r in explanation.revisions]
        cell_steps = sorted({o["step"] for o in explanation.originals if o["role"] != "denominator"})
        per_100k = cell.get("value_per_100k")
        data["cells"][cell_anchor(*explanation.key).removeprefix("cell-")] = [
            names(cell["country_name"]), names(cell["kpi_name"]), format_number(cell["value"]), names(cell["unit"]),
            None if per_100k is None else format_number(per_100k), names(cell["source_id"]),
            names(str(cell["source_vintage"])), [steps(step) for step in cell_steps], originals, history,
        ]
    data.update(files=files.values, steps=steps.values, series=series.values, roles=roles.values, names=names.values)
    return data


# Renders the cell named by the address's #cell-<ISO3>-<kpi_id>-<year> (the report's links), or an
# index of every cell; text goes in through textContent only, so nothing in the data is markup.
_RENDER_SCRIPT = """
const data = JSON.parse(document.getElementById("lineage-data").textContent);
const out = document.getElementById("cell");
function el(tag, text, parent) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = text;
  if (parent) parent.appendChild(node);
  return node;
}
function table(head, rows, parent) {
  const t = el("table", null, parent), tr = el("tr", null, el("thead", null, t)), body = el("tbody", null, t);
  head.forEach(h => el("th", h, tr));
  rows.forEach(cells => { const r = el("tr", null, body); cells.forEach(c => c instanceof Node ? el("td", null, r).appendChild(c) : el("td", c, r)); });
  return t;
}
function link(href, text) { const a = el("a", text); if (/^https?:/.test(href)) a.href = href; return a; }
function show() {
  out.textContent = "";
  const key = decodeURIComponent(location.hash.replace(/^#cell-/, ""));
  const cell = data.cells[key];
  if (!cell) {
    el("h2", location.hash ? "No published value " + location.hash : "Every published value", out);
    const byKpi = {};
    Object.keys(data.cells).forEach(k => { const c = data.cells[k]; (byKpi[data.names[c[1]]] = byKpi[data.names[c[1]]] || []).push(k); });
    Object.keys(byKpi).sort().forEach(name => {
      const p = el("p", null, out); el("b", name + ": ", p);
      byKpi[name].forEach(k => { const a = link("", k.split("-").filter((_, i, a) => i === 0 || i === a.length - 1).join(" ")); a.href = "#cell-" + k; p.appendChild(a); p.append(" "); });
    });
    return;
  }
  const [country, kpi, value, unit, per100k, source, release, steps, originals, history] = cell;
  el("h2", data.names[country] + ", " + data.names[kpi] + ", " + key.split("-").pop() + ": " + value + " " + data.names[unit], out);
  el("p", "Source " + data.names[source] + ", release " + data.names[release] + "." + (per100k ? " Per 100,000 people: " + per100k + "." : ""), out);
  steps.forEach(s => el("p", data.steps[s], out));
  table(["Role", "Value", "Printed", "Series, year", "File", "sha256", "Location", "Release", "Fetched from"],
        originals.map(([role, v, printed, series, year, file, loc]) => {
          const [path, sha, url, vintage] = data.files[file];
          return [data.roles[role], v, printed === null ? "" : printed, data.series[series] + " " + year, path, sha, loc, vintage, link(url, "URL")];
        }), out);
  if (history.length) {
    el("h3", "Release history (marts.kpi_revisions)", out);
    const ul = el("ul", null, out);
    history.forEach(([series, year, vintage, v, latest]) => el("li", data.series[series] + " " + year + ": " + vintage + ": " + v + (latest ? " (published)" : ""), ul));
  }
}
window.addEventListener("hashchange", show);
show();
"""


def lineage_page(cells: list[CellExplanation], publication_id: str = "") -> str:
    """One offline page: the cells' data as one compact JSON block, and a few lines of inline
    script that render the cell the address names (the report links each value to
    ``#cell-<ISO3>-<kpi_id>-<year>``). Nothing is fetched; without script, the page says how to get
    the same explanation from ``python -m orchestration.cli explain``."""
    # "<" escaped inside the JSON: no "</script>" or "<!--" in a publisher's text can end the block
    blob = json.dumps(lineage_data(cells, publication_id), ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>KPI warehouse: where each published value comes from</title>
<style>body{{font-family:system-ui,sans-serif;margin:1.5em;max-width:80em}}table{{border-collapse:collapse;font-size:.85em}}
td,th{{border:1px solid #ccc;padding:.2em .4em;text-align:left}}p a{{margin-right:.3em}}</style>
</head><body><h1>Where each published value comes from</h1>
<p>Publication {html.escape(publication_id)}. Each value of marts.kpi_annual with the publisher's originals it is made
from (marts.kpi_lineage): the archived file (relative to the landing archive or the bundled snapshot) and its sha256, the
value's place in it, the text printed there, and the releases that published it (marts.kpi_revisions).</p>
<noscript><p>This page shows a value's explanation with a few lines of inline script (offline, nothing is fetched).
Without script, <code>python -m orchestration.cli explain &lt;ISO3&gt; &lt;kpi_id&gt; &lt;year&gt;</code> prints the same.</p></noscript>
<div id="cell"></div>
<script type="application/json" id="lineage-data">{blob}</script>
<script>{_RENDER_SCRIPT}</script>
</body></html>
"""


def write_lineage_page(connection: duckdb.DuckDBPyConnection, docs_dir, publication_id: str = "") -> str | None:
    """Write ``docs/kpi_lineage.html`` from a serving copy that has ``marts.kpi_lineage``; its name, or None."""
    if not has_lineage(connection):
        return None
    (docs_dir / LINEAGE_PAGE).write_text(lineage_page(explanations(connection), publication_id), encoding="utf-8")
    return LINEAGE_PAGE
