"""The KPI report: a static HTML scorecard written beside each publication.

Per KPI, one small multiple of Honduras against the comparators over the years, and the latest
value, the change from the baseline and its direction for every country (marts.kpi_scorecard).
Charts are inline SVG drawn here in Python: no JavaScript library, no CDN, so the page renders
offline and from a file. A few lines of inline script only record, for tests and the curious,
what the browser actually laid out (``data-rendered-*`` attributes on each chart).

Everything is read from the SERVING copy (never the warehouse), in one read-only connection, so
the report and its footer (publication id, source vintages) describe exactly one publication.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import duckdb

from orchestration.publish import RELEASES_DIR, SERVING_FILE

REPORT_FILE = "kpi_report.html"
FOCUS_COUNTRY = "HND"
COLOURS = {"HND": "#1f4e9c", "GTM": "#e08214", "SLV": "#1b9e77", "NIC": "#984ea3", "MEX": "#a6761d"}
OTHER_COLOURS = ("#666666", "#e7298a", "#66a61e", "#e6ab02", "#7570b3")

# The report's queries (bench/bi_latency.py times exactly these).
REPORT_QUERIES = {
    "publication": "SELECT publication_id, published_at, git_revision, source_vintages, row_counts FROM marts.publication",
    "kpis": "SELECT kpi_id, kpi_name, programme, unit, better_direction, baseline_year FROM marts.dim_kpi",
    "countries": "SELECT country_iso3, country_name, is_focus_country FROM marts.dim_country",
    "series": "SELECT kpi_id, country_iso3, year, value FROM marts.kpi_annual WHERE value IS NOT NULL "
              "ORDER BY kpi_id, country_iso3, year",
    "scorecard": "SELECT country_iso3, kpi_id, better_direction, baseline_year, baseline_value, latest_year, "
                 "latest_value, change, change_pct, status, unit FROM marts.kpi_scorecard",
}
KPI_ORDER = ("visas_issued", "visas_nonimmigrant", "visas_immigrant", "visas_temporary_work", "jobs_created",
             "employment", "primary_completion_rate", "lower_secondary_completion_rate", "homicide_rate",
             "border_encounters", "us_assistance_obligations", "us_assistance_disbursements")


def fetch_report_data(connection: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    return {name: connection.execute(sql).fetchall() for name, sql in REPORT_QUERIES.items()}


@dataclass(frozen=True)
class Report:
    html: str
    publication_id: str
    charts: int


# --- formatting -----------------------------------------------------------------------------------

def format_value(value: float | None, unit: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if "percent" in unit or "per 100000" in unit:
        return f"{value:,.1f}"
    if "dollars" in unit:
        return "US$" + _compact(value)
    return _compact(value) if abs(value) >= 100_000 else f"{value:,.0f}"


def _compact(value: float) -> str:
    for threshold, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= threshold:
            return f"{value / threshold:,.{1 if abs(value) < 10 * threshold else 0}f}{suffix}"
    return f"{value:,.0f}"


def format_change(change: float | None, change_pct: float | None, unit: str) -> str:
    if change is None:
        return "–"
    sign = "+" if change > 0 else "−" if change < 0 else "±"
    if "percent" in unit:
        text = f"{sign}{abs(change):,.1f} pp"
    else:
        text = sign + format_value(abs(change), unit)
    if change_pct is not None and "percent" not in unit:
        text += f" ({'+' if change_pct > 0 else '−' if change_pct < 0 else '±'}{abs(change_pct):,.1f}%)"
    return text


def _nice_ticks(low: float, high: float, count: int = 4) -> list[float]:
    if high <= low:
        high = low + (abs(low) or 1.0)
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.floor(low / step) * step
    ticks = []
    value = first
    while value <= high + step * 0.001:
        ticks.append(round(value, 10))
        value += step
    if ticks[-1] < high:
        ticks.append(ticks[-1] + step)
    return ticks


# --- charts ---------------------------------------------------------------------------------------

def chart_svg(kpi_id: str, unit: str, series: dict[str, list[tuple[int, float]]], baseline_year: int | None,
              colours: dict[str, str], names: dict[str, str], width: int = 460, height: int = 230) -> str:
    """One small multiple: a line per country over the years, the focus country drawn on top with points."""
    left, right, top, bottom = 58, 12, 12, 26
    years = [year for points in series.values() for year, _ in points]
    values = [value for points in series.values() for _, value in points]
    if not years:
        return (f'<svg class="kpi-chart" data-kpi="{kpi_id}" data-points="0" width="{width}" height="{height}" role="img">'
                f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle">no data</text></svg>')
    x_min, x_max = min(years), max(years)
    if x_min == x_max:
        x_min, x_max = x_min - 1, x_max + 1
    low = min(0.0, min(values)) if min(values) >= 0 else min(values)
    ticks = _nice_ticks(low, max(values))
    y_min, y_max = ticks[0], ticks[-1]
    plot_w, plot_h = width - left - right, height - top - bottom

    def x(year: float) -> float:
        return left + (year - x_min) / (x_max - x_min) * plot_w

    def y(value: float) -> float:
        return top + plot_h - (value - y_min) / (y_max - y_min) * plot_h

    parts = [f'<svg class="kpi-chart" data-kpi="{html.escape(kpi_id)}" data-points="{len(values)}" '
             f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" style="width:100%;height:auto" role="img" '
             f'aria-label="{html.escape(kpi_id)}: {", ".join(html.escape(c) for c in series)} over the years">']
    for tick in ticks:
        parts.append(f'<line class="grid" x1="{left}" x2="{width - right}" y1="{y(tick):.1f}" y2="{y(tick):.1f}"/>')
        label = f"{tick:,.0f}" if float(tick).is_integer() and abs(tick) < 100_000 else format_value(tick, unit).removeprefix("US$")
        parts.append(f'<text class="tick" x="{left - 6}" y="{y(tick) + 4:.1f}" text-anchor="end">{label}</text>')
    span = x_max - x_min
    step = 5 if span > 12 else 2 if span > 5 else 1
    for year in range(math.ceil(x_min / step) * step, x_max + 1, step):
        parts.append(f'<text class="tick" x="{x(year):.1f}" y="{height - 8}" text-anchor="middle">{year}</text>')
    if baseline_year is not None and x_min <= baseline_year <= x_max:
        parts.append(f'<line class="baseline" x1="{x(baseline_year):.1f}" x2="{x(baseline_year):.1f}" y1="{top}" '
                     f'y2="{top + plot_h}"><title>baseline {baseline_year}</title></line>')
    # comparators first, the focus country last (on top)
    for country in sorted(series, key=lambda c: (c == FOCUS_COUNTRY, c)):
        points = series[country]
        if not points:
            continue
        focus = country == FOCUS_COUNTRY
        opacity = "" if focus else ' stroke-opacity="0.85"'
        path = " ".join(f"{'M' if i == 0 or points[i - 1][0] != year - 1 else 'L'}{x(year):.1f},{y(value):.1f}"
                        for i, (year, value) in enumerate(points))
        parts.append(f'<g class="series{" focus" if focus else ""}" data-country="{country}">'
                     f'<title>{html.escape(names.get(country, country))}</title>'
                     f'<path d="{path}" fill="none" stroke="{colours[country]}" stroke-width="{2.6 if focus else 1.4}"'
                     f'{opacity}/>')
        radius = 2.6 if focus else 1.6
        for year, value in points:
            parts.append(f'<circle cx="{x(year):.1f}" cy="{y(value):.1f}" r="{radius}" fill="{colours[country]}">'
                         f'<title>{country} {year}: {format_value(value, unit)}</title></circle>')
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)


# --- the page -------------------------------------------------------------------------------------

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;color:#1d2430;background:#fafbfc}
h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:0}.sub{color:#5b6573;margin:0 0 18px}
.grid-cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(480px,1fr));gap:16px}
.card{background:#fff;border:1px solid #dde2e8;border-radius:8px;padding:12px 14px}
.card .programme{color:#5b6573;font-size:12px;margin:2px 0 6px}
.headline{font-size:14px;margin:4px 0 6px}.headline b{font-size:18px}
.status{display:inline-block;border-radius:10px;padding:1px 8px;font-size:12px;font-weight:600}
.improving{background:#dcf5e3;color:#17663a}.worsening{background:#fde2e1;color:#a4161a}
.unchanged,.insufficient_data{background:#eceff3;color:#4a5360}
svg .grid{stroke:#e6e9ee;stroke-width:1}svg .tick{font-size:10px;fill:#5b6573}
svg .baseline{stroke:#8a94a3;stroke-dasharray:4 3}
table{border-collapse:collapse;font-size:12px;width:100%;margin-top:6px}td,th{padding:2px 6px;text-align:right;border-bottom:1px solid #eef0f3}
td:first-child,th:first-child{text-align:left}.swatch{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:4px}
footer{margin-top:24px;color:#5b6573;font-size:12px;border-top:1px solid #dde2e8;padding-top:10px}
footer code{font-size:12px}
"""

# Records what the browser laid out: each chart's drawn extent and marks (read by tests via --dump-dom).
RENDER_PROBE = """
document.querySelectorAll('svg.kpi-chart').forEach(function (svg) {
  var drawn = svg.querySelectorAll('g.series path, g.series circle');
  var box = {width: 0, height: 0};
  try { var g = svg.querySelector('g.series'); if (g) { box = g.getBBox(); } } catch (e) {}
  svg.setAttribute('data-rendered-marks', String(drawn.length));
  svg.setAttribute('data-rendered-width', String(Math.round(box.width)));
  svg.setAttribute('data-rendered-height', String(Math.round(box.height)));
});
document.body.setAttribute('data-charts-probed', String(document.querySelectorAll('svg.kpi-chart').length));
"""


def build_report(data: dict[str, list[tuple]]) -> Report:
    (publication_id, published_at, git_revision, vintages_json, row_counts_json), = data["publication"]
    vintages = json.loads(vintages_json or "{}")
    names = {iso3: name for iso3, name, _ in data["countries"]}
    kpis = {row[0]: row for row in data["kpis"]}
    order = [k for k in KPI_ORDER if k in kpis] + sorted(k for k in kpis if k not in KPI_ORDER)
    series: dict[str, dict[str, list[tuple[int, float]]]] = {}
    for kpi_id, country, year, value in data["series"]:
        series.setdefault(kpi_id, {}).setdefault(country, []).append((year, value))
    countries = sorted({c for per_kpi in series.values() for c in per_kpi}, key=lambda c: (c != FOCUS_COUNTRY, c))
    colours = dict(COLOURS)
    for i, country in enumerate(c for c in countries if c not in colours):
        colours[country] = OTHER_COLOURS[i % len(OTHER_COLOURS)]
    scorecard = {(row[0], row[1]): row for row in data["scorecard"]}

    cards = []
    for kpi_id in order:
        _, kpi_name, programme, unit, better, baseline_year = kpis[kpi_id]
        per_country = series.get(kpi_id, {})
        focus = scorecard.get((FOCUS_COUNTRY, kpi_id))
        if focus and focus[3] is not None:
            baseline_year = focus[3]  # the scorecard's: the first year with a value from the KPI's baseline year
        if focus and focus[5] is not None:
            status = focus[9] or "insufficient_data"
            headline = (f'{FOCUS_COUNTRY} {focus[5]}: <b>{format_value(focus[6], unit)}</b> · '
                        f'{format_change(focus[7], focus[8], unit)} since {focus[3]} '
                        f'<span class="status {html.escape(status)}">{_arrow(focus[7])} {html.escape(status.replace("_", " "))}</span>')
        else:
            headline = f'{FOCUS_COUNTRY}: no value published'
        rows = []
        for country in countries:
            card = scorecard.get((country, kpi_id))
            if card is None or country not in per_country:
                continue
            status = card[9] or "insufficient_data"
            rows.append(
                f'<tr><td><span class="swatch" style="background:{colours[country]}"></span>{html.escape(names.get(country, country))}</td>'
                f'<td>{card[5] or "–"}</td><td>{format_value(card[6], unit)}</td>'
                f'<td>{card[3] or "–"}</td><td>{format_value(card[4], unit)}</td>'
                f'<td>{format_change(card[7], card[8], unit)}</td>'
                f'<td><span class="status {html.escape(status)}">{_arrow(card[7])} {html.escape(status.replace("_", " "))}</span></td></tr>'
            )
        cards.append(
            f'<section class="card" id="{html.escape(kpi_id)}"><h2>{html.escape(kpi_name)}</h2>'
            f'<div class="programme">{html.escape(programme)} · {html.escape(unit)} · {html.escape(better)} is better · '
            f'<code>{html.escape(kpi_id)}</code></div>'
            f'<div class="headline">{headline}</div>'
            + chart_svg(kpi_id, unit, per_country, baseline_year, colours, names)
            + '<table><thead><tr><th>country</th><th>latest</th><th>value</th><th>baseline</th><th>value</th>'
              '<th>change</th><th>direction</th></tr></thead><tbody>' + "".join(rows) + "</tbody></table></section>"
        )

    vintage_items = "".join(
        f"<li><code>{html.escape(source)}</code>: {html.escape(str(v.get('oldest')))}"
        + (f" … {html.escape(str(v.get('newest')))}" if v.get("newest") != v.get("oldest") else "") + "</li>"
        for source, v in sorted(vintages.items())
    )
    published = published_at.isoformat(sep=" ", timespec="seconds") if isinstance(published_at, dt.datetime) else str(published_at)
    cards_html = "\n".join(cards)
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>KPI scorecard · publication {html.escape(publication_id)}</title>
<meta name="viewport" content="width=device-width,initial-scale=1"><style>{STYLE}</style></head>
<body>
<h1>US–Honduras cooperation KPIs: scorecard</h1>
<p class="sub">Honduras (bold line, points) against the comparators, per year. Status is each KPI's direction of
change from its baseline year (dashed line), by the KPI's better direction; the project sets no targets.</p>
<div class="grid-cards">
{cards_html}
</div>
<footer>
<p>Publication <code id="publication-id">{html.escape(publication_id)}</code>, published {html.escape(published)} UTC,
git revision <code>{html.escape(str(git_revision))}</code>. Data: the serving copy <code>{SERVING_FILE}</code>, schema <code>marts</code>.</p>
<p>Source vintages:</p><ul id="source-vintages">{vintage_items}</ul>
</footer>
<script>{RENDER_PROBE}</script>
</body></html>
"""
    return Report(html=page, publication_id=publication_id, charts=len(order))


def _arrow(change: float | None) -> str:
    if change is None:
        return ""
    return "▲" if change > 0 else "▼" if change < 0 else "■"


def write_report(serving_dir: Path) -> dict:
    """Build the report from the current serving copy; write it into that publication's release
    directory and, by an atomic rename, as ``<serving>/kpi_report.html``."""
    serving_file = serving_dir / SERVING_FILE
    with duckdb.connect(str(serving_file), read_only=True) as connection:
        report = build_report(fetch_report_data(connection))
    release_dir = serving_dir / RELEASES_DIR / report.publication_id
    targets = [serving_dir / REPORT_FILE]
    if release_dir.is_dir():
        targets.insert(0, release_dir / REPORT_FILE)
    for target in targets:
        partial = target.with_name(f".{REPORT_FILE}.partial")
        partial.write_text(report.html, encoding="utf-8")
        os.replace(partial, target)
    return {"publication_id": report.publication_id, "charts": report.charts, "path": str(serving_dir / REPORT_FILE)}
