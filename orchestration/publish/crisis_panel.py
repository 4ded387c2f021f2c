"""The report's crisis panel: the surge signals of the crisis protocols, at the top of the KPI report.

A table gives the latest month's level of every country and monthly series (marts.surge_signals);
under it, one small monthly chart per series and country shades the months flagged elevated (amber)
and surge (red), with the expected level as a dashed line. Inline SVG like the rest of the report.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Callable

SURGE_SIGNALS_QUERY = ("SELECT country_iso3, series_id, series, month_start_date, value, expected_value, ratio, score, "
                       "level, is_partial_month, is_revised, source_vintage FROM marts.surge_signals "
                       "ORDER BY series_id, country_iso3, month_start_date")
LEVEL_LABEL = {"surge": "SURGE", "elevated": "elevated", "normal": "normal", None: "not assessed"}
SHADE = {"elevated": "#f6c453", "surge": "#e4572e"}
CHART_YEARS = 10  # the monthly charts show the newest ten years of each series

PANEL_STYLE = """
.crisis{background:#fff;border:1px solid #c9d2dd;border-left:5px solid #a4161a;border-radius:6px;padding:10px 12px;margin:0 0 14px}
.crisis h2{margin:0 0 4px}.crisis table{width:auto;min-width:60%}.crisis td,.crisis th{text-align:left}
.level{display:inline-block;border-radius:10px;padding:1px 8px;font-size:12px;font-weight:600;white-space:nowrap}
.level.surge{background:#e4572e;color:#fff}.level.elevated{background:#f6c453;color:#3b2a00}
.level.normal{background:#dcf5e3;color:#17663a}.level.not-assessed{background:#eceff3;color:#39424e}
.monthly-grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(260px,1fr));gap:8px;margin-top:6px}
.monthly-grid figure{margin:0}.monthly-grid figcaption{font-size:12px;font-weight:600}
svg.monthly-chart{width:100%;height:auto;display:block}svg .expected{stroke:#39424e;stroke-dasharray:3 2;fill:none}
"""


def _month(value) -> str:
    return value.strftime("%Y-%m") if isinstance(value, (dt.date, dt.datetime)) else str(value)[:7]


def level_badge(level: str | None) -> str:
    return f'<span class="level {(level or "not assessed").replace(" ", "-")}">{LEVEL_LABEL.get(level, level)}</span>'


def monthly_chart_svg(series_id: str, country: str, rows: list[dict], colour: str, width: int = 300, height: int = 120) -> str:
    """One country's monthly values of one series; flagged months shaded behind the line."""
    left, right, top, bottom = 40, 6, 6, 18
    flagged = sum(1 for r in rows if r["level"] in SHADE)
    head = (f'<svg class="monthly-chart" data-series="{html.escape(series_id)}" data-country="{html.escape(country)}" '
            f'data-months="{len(rows)}" data-flagged="{flagged}" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="{html.escape(series_id)} {html.escape(country)}">')
    if not rows:
        return head + "</svg>"
    plot_w, plot_h = width - left - right, height - top - bottom
    top_value = max(max(r["value"] for r in rows), max((r["expected_value"] or 0) for r in rows)) or 1
    step = plot_w / max(len(rows), 1)

    def x(i: int) -> float:
        return left + i * step

    def y(value: float) -> float:
        return top + plot_h - value / top_value * plot_h

    parts = [head]
    for i, r in enumerate(rows):
        if r["level"] in SHADE:
            parts.append(f'<rect class="flag {r["level"]}" data-month="{_month(r["month_start_date"])}" x="{x(i):.1f}" y="{top}" '
                         f'width="{step:.2f}" height="{plot_h}" fill="{SHADE[r["level"]]}" opacity="0.55">'
                         f'<title>{_month(r["month_start_date"])}: {r["level"]}, {r["value"]:,}</title></rect>')
    line = " ".join(f"{'M' if i == 0 else 'L'}{x(i) + step / 2:.1f},{y(r['value']):.1f}" for i, r in enumerate(rows))
    expected = [(i, r["expected_value"]) for i, r in enumerate(rows) if r["expected_value"] is not None]
    if expected:
        path = " ".join(f"{'M' if n == 0 or expected[n - 1][0] != i - 1 else 'L'}{x(i) + step / 2:.1f},{y(v):.1f}"
                        for n, (i, v) in enumerate(expected))
        parts.append(f'<path class="expected" d="{path}"><title>expected level</title></path>')
    parts.append(f'<path class="values" d="{line}" fill="none" stroke="{colour}" stroke-width="1.4"/>')
    parts.append(f'<text class="tick" x="{left - 4}" y="{top + 8}" text-anchor="end">{top_value:,.0f}</text>'
                 f'<text class="tick" x="{left - 4}" y="{top + plot_h}" text-anchor="end">0</text>'
                 f'<text class="tick" x="{left}" y="{height - 4}">{_month(rows[0]["month_start_date"])}</text>'
                 f'<text class="tick" x="{width - right}" y="{height - 4}" text-anchor="end">{_month(rows[-1]["month_start_date"])}</text>')
    parts.append("</svg>")
    return "".join(parts)


def crisis_panel_html(rows: list[dict], countries: list[str], names: dict[str, str], colours: dict[str, str],
                      number: Callable[[float], str] = lambda v: f"{v:,.0f}") -> str:
    """The panel: latest level per country and series, then the shaded monthly charts ('' without signals)."""
    if not rows:
        return ""
    by_series: dict[str, dict[str, list[dict]]] = {}
    titles: dict[str, str] = {}
    for row in rows:
        by_series.setdefault(row["series_id"], {}).setdefault(row["country_iso3"], []).append(row)
        titles[row["series_id"]] = row["series"]
    present = [c for c in countries if any(c in per_country for per_country in by_series.values())]
    present += sorted({c for per_country in by_series.values() for c in per_country} - set(present))
    head = "".join(f'<th data-country="{c}">{html.escape(names.get(c, c))}</th>' for c in present)
    body = []
    for series_id, per_country in by_series.items():
        cells = []
        for country in present:
            months = per_country.get(country)
            if not months:
                cells.append(f'<td data-country="{country}">–</td>')
                continue
            latest = months[-1]
            expected = "" if latest["expected_value"] is None else f" (expected {number(latest['expected_value'])})"
            marks = ("; partial month" if latest["is_partial_month"] else "") + ("; revised" if latest["is_revised"] else "")
            cells.append(f'<td data-country="{country}" data-level="{latest["level"] or ""}">{level_badge(latest["level"])} '
                         f'{_month(latest["month_start_date"])}: {number(latest["value"])}{expected}{marks}</td>')
        body.append(f'<tr data-series="{html.escape(series_id)}"><td>{html.escape(titles[series_id])}</td>{"".join(cells)}</tr>')
    charts = []
    for series_id, per_country in by_series.items():
        figures = []
        for country in present:
            months = per_country.get(country)
            if not months:
                continue
            last = months[-1]["month_start_date"]
            recent = [r for r in months if (last.year - r["month_start_date"].year) * 12 + last.month - r["month_start_date"].month
                      < CHART_YEARS * 12]
            figures.append(f'<figure data-country="{country}"><figcaption>{html.escape(names.get(country, country))}</figcaption>'
                           + monthly_chart_svg(series_id, country, recent, colours.get(country, "#666666")) + "</figure>")
        charts.append(f'<h3>{html.escape(titles[series_id])}</h3><div class="monthly-grid">{"".join(figures)}</div>')
    return (
        '<section class="crisis" id="crisis-panel"><h2>Crisis protocols: surge signals</h2>'
        '<p class="area-intro">The latest month of each monthly series against the level expected from the same month '
        'in the previous five years and the recent trend (marts.surge_signals; method, thresholds and back-test: '
        'docs/surge-signals.md, seed surge_signal_parameters). Shaded months in the charts: '
        f'<span class="level elevated">elevated</span> and <span class="level surge">SURGE</span>; dashed: expected level.</p>'
        f'<div class="table-wrap"><table class="crisis-levels"><thead><tr><th>Series</th>{head}</tr></thead>'
        f'<tbody>{"".join(body)}</tbody></table></div>'
        f'<details open><summary>Monthly charts, the newest {CHART_YEARS} years</summary>{"".join(charts)}</details></section>'
    )
