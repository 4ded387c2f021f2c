"""The KPI report: one static HTML page that answers the cooperation framework's questions.

First the framework's four KPIs, in its own words, each with its direction of improvement and the
status for Honduras; then every strategy area with its measures. Each KPI has one comparison chart
of Honduras against the comparators, in a view that keeps Honduras readable beside Mexico: counts
per 100,000 people and money per person (population: World Bank WDI SP.POP.TOTL), or an index
(baseline year = 100) where no population is at hand; rates and percentages as published. The
absolute figures are in the table under each chart and, year by year, one click away. Every
chart names its publisher, unit, year basis (calendar or US fiscal year) and vintage; the footer
gives the data's licences (CC BY 4.0 attribution for World Bank data).

Everything is driven by ``marts.dim_kpi`` (strategy area, framework KPI, publisher, licence, year
basis, measure kind, better direction): a new KPI appears without a change here. Charts are inline
SVG drawn in Python: no JavaScript library, no CDN, so the page renders offline and from a file.
A few lines of inline script only record, for tests and the curious, what the browser laid out
(``data-rendered-*`` attributes on each chart).

Everything is read from one serving copy (never the warehouse), in one read-only connection, so the
report and its footer describe exactly one publication.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import duckdb

from orchestration.publish.crisis_panel import PANEL_STYLE, SURGE_SIGNALS_QUERY, crisis_panel_html
from orchestration.publish.explain import LINEAGE_PAGE, cell_anchor

FOCUS_COUNTRY = "HND"
COLOURS = {"HND": "#1f4e9c", "GTM": "#e08214", "SLV": "#1b9e77", "NIC": "#984ea3", "MEX": "#a6761d"}
OTHER_COLOURS = ("#666666", "#e7298a", "#66a61e", "#e6ab02", "#7570b3")
# A per-100,000 column of kpi_annual, when the marts carry one (named in the series query too); otherwise the
# report divides by population.
PER_100K_COLUMN = "value_per_100k"
POPULATION_SOURCE = "World Bank, World Development Indicators (SP.POP.TOTL)"

# Ordering fallbacks only: anything dim_kpi names that is not listed here comes after, alphabetically.
STRATEGY_AREA_ORDER = ("Legal migration pathways", "Job creation", "Education", "Community safety", "Border security",
                       "Crisis response", "Humanitarian aid", "Economic development", "Security cooperation",
                       "Inputs: US assistance")
KPI_ORDER = ("visas_issued", "visas_nonimmigrant", "visas_immigrant", "visas_temporary_work", "jobs_created",
             "employment", "primary_completion_rate", "lower_secondary_completion_rate", "homicide_rate",
             "border_encounters", "us_assistance_obligations", "us_assistance_disbursements")


def report_queries(kpi_annual_columns: Iterable[str] = (), population_available: bool = True) -> dict[str, str]:
    """The report's queries for a serving copy whose kpi_annual has ``kpi_annual_columns``."""
    with_per_100k = PER_100K_COLUMN in set(kpi_annual_columns)
    queries = {
        "publication": "SELECT publication_id, published_at, git_revision, source_vintages FROM marts.publication",
        "kpis": "SELECT * FROM marts.dim_kpi",
        "countries": "SELECT country_iso3, country_name FROM marts.dim_country",
        "series": ("SELECT kpi_id, country_iso3, year, value, source_vintage, value_per_100k" if with_per_100k
                   else "SELECT kpi_id, country_iso3, year, value, source_vintage")
                  + " FROM marts.kpi_annual WHERE value IS NOT NULL ORDER BY kpi_id, country_iso3, year",
        "scorecard": "SELECT * FROM marts.kpi_scorecard",
    }
    if population_available:
        queries["population"] = ("SELECT country_iso3, year, population_count AS population FROM marts.fct_labour_market "
                                 "WHERE population_count IS NOT NULL")
    return queries


# The report's queries on a serving copy of this project (bench/bi_latency.py times exactly these).
REPORT_QUERIES = report_queries()


def fetch_report_data(connection: duckdb.DuckDBPyConnection) -> dict[str, list[dict]]:
    """Every row the report needs, as dicts, from one connection to a serving copy."""
    columns = connection.execute(
        "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'marts'").fetchall()
    kpi_annual_columns = [column for table, column in columns if table == "kpi_annual"]
    population_available = ("fct_labour_market", "population_count") in set(columns)
    queries = report_queries(kpi_annual_columns, population_available)
    if any(table == "surge_signals" for table, _ in columns):  # a serving copy from before issue 28 has none
        queries["surge_signals"] = SURGE_SIGNALS_QUERY
    # the publication writes docs/kpi_lineage.html (orchestration/publish/explain.py) from marts.kpi_lineage
    data = {"lineage": [{"page": f"docs/{LINEAGE_PAGE}"}] if any(table == "kpi_lineage" for table, _ in columns) else []}
    for name, sql in queries.items():
        cursor = connection.execute(sql)
        names = [d[0] for d in cursor.description]
        data[name] = [dict(zip(names, row)) for row in cursor.fetchall()]
    return data


@dataclass(frozen=True)
class Report:
    html: str
    publication_id: str
    charts: int


# --- formatting -----------------------------------------------------------------------------------

def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def format_value(value: float | None, measure_kind: str, exact: bool = False) -> str:
    """A value as a reader reads it: counts whole (compact above a million unless ``exact``), rates and
    percentages with one decimal, money in US$ (compact unless ``exact``)."""
    if _missing(value):
        return "–"
    sign = "−" if value < 0 else ""
    magnitude = abs(value)
    if measure_kind in ("rate", "percent"):
        return f"{sign}{magnitude:,.1f}"
    if measure_kind == "amount":
        return f"{sign}US${magnitude:,.0f}" if exact else f"{sign}US${_compact(magnitude)}"
    if exact or magnitude < 1_000_000:
        return f"{sign}{magnitude:,.0f}"
    return sign + _compact(magnitude)


def _compact(magnitude: float) -> str:
    for threshold, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if magnitude >= threshold:
            return f"{magnitude / threshold:,.{1 if magnitude < 100 * threshold else 0}f}{suffix}"
    return f"{magnitude:,.0f}"


def format_change(change: float | None, baseline_value: float | None, measure_kind: str) -> str:
    """The change since the baseline; in percent of the baseline only when the baseline is positive
    (a change against a negative or zero baseline has no meaningful percentage)."""
    if _missing(change):
        return "–"
    sign = "+" if change > 0 else "−" if change < 0 else "±"
    if measure_kind == "percent":
        return f"{sign}{abs(change):,.1f} pp"
    text = sign + format_value(abs(change), measure_kind)
    if not _missing(baseline_value) and baseline_value > 0:
        pct = change / baseline_value * 100
        text += f" ({'+' if pct > 0 else '−' if pct < 0 else '±'}{abs(pct):,.1f}%)"
    return text


def format_year(year: int | None, year_basis: str) -> str:
    if year is None:
        return "–"
    return f"FY{year}" if year_basis == "us_fiscal" else str(year)


def year_basis_text(year_basis: str, singular: bool = False) -> str:
    text = "US fiscal year (October–September)" if year_basis == "us_fiscal" else "calendar year"
    return text if singular else text.replace("year", "years", 1)


def _nice_ticks(low: float, high: float, count: int = 4) -> list[float]:
    if high <= low:
        high = low + (abs(low) or 1.0)
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    ticks = []
    value = math.floor(low / step) * step
    while value <= high + step * 0.001:
        ticks.append(round(value, 10))
        value += step
    if ticks[-1] < high:
        ticks.append(ticks[-1] + step)
    return ticks


def _tick_label(tick: float) -> str:
    magnitude = abs(tick)
    if magnitude >= 1_000_000:
        text = _compact(magnitude)
    elif float(tick).is_integer():
        text = f"{magnitude:,.0f}"
    else:
        text = f"{magnitude:,.1f}".rstrip("0").rstrip(".")
    return ("−" if tick < 0 else "") + text


# --- what each chart shows ------------------------------------------------------------------------

Series = dict[str, list[tuple[int, float]]]


@dataclass
class View:
    """One comparison chart's data: the series drawn, what their axis means, notes on what is missing."""
    name: str                      # per_100k, per_person, index, as_published
    axis_title: str
    series: Series
    how: str                       # one line for the source line: how the drawn values are made
    notes: list[str] = field(default_factory=list)


def per_capita_series(values: Series, population: dict[tuple[str, int], float], scale: float) -> Series:
    """value / population x scale for the years with a population; other years are left out."""
    return {country: [(year, value / population[(country, year)] * scale) for year, value in points
                      if population.get((country, year))]
            for country, points in values.items()}


def index_series(values: Series, base_years: dict[str, int]) -> Series:
    """value / value in the country's base year x 100, for countries whose base value is positive."""
    indexed = {}
    for country, points in values.items():
        base = dict(points).get(base_years.get(country))
        if base is not None and base > 0:
            indexed[country] = [(year, value / base * 100) for year, value in points]
    return indexed


def _is_comparison(series: Series) -> bool:
    """Honduras and at least one comparator, each with two points or more."""
    return len(series.get(FOCUS_COUNTRY, [])) >= 2 and sum(1 for c, p in series.items() if c != FOCUS_COUNTRY and len(p) >= 2) >= 1


def choose_view(kpi: dict, values: Series, published_per_100k: Series, population: dict[tuple[str, int], float],
                base_years: dict[str, int], names: dict[str, str]) -> View:
    """The view in which Honduras and its comparators can be compared (pure: unit-tested).

    Counts: per 100,000 people (the marts' own column when there is one); money: per person; either
    falls back to an index (base year = 100) without population, and to the published values last.
    Rates and percentages are comparable as published.
    """
    kind, unit, year_basis = kpi["measure_kind"], kpi["unit"], kpi["year_basis"]
    population_year = " (population of the calendar year the fiscal year ends in)" if year_basis == "us_fiscal" else ""
    if kind in ("count", "amount"):
        if kind == "count" and _is_comparison(published_per_100k):
            candidates = [View("per_100k", f"{unit} per 100,000 people", published_per_100k,
                               f"per 100,000 people ({PER_100K_COLUMN} of kpi_annual)")]
        elif kind == "count":
            candidates = [View("per_100k", f"{unit} per 100,000 people", per_capita_series(values, population, 100_000),
                               f"per 100,000 people; population: {POPULATION_SOURCE}{population_year}")]
        else:
            candidates = [View("per_person", "US$ per person", per_capita_series(values, population, 1),
                               f"US$ per person; population: {POPULATION_SOURCE}{population_year}")]
        indexed = index_series(values, base_years)
        candidates.append(View("index", "index, base year = 100", indexed,
                               "index: each country's value over its value in the baseline year × 100"))
        for view in candidates:
            if _is_comparison(view.series):
                view.notes.extend(_coverage_notes(view, values, names, year_basis))
                return view
    return View("as_published", unit, dict(values), unit)


def _coverage_notes(view: View, values: Series, names: dict[str, str], year_basis: str) -> list[str]:
    notes = []
    if view.name in ("per_100k", "per_person"):
        short = sorted((names.get(c, c), format_year(max(y for y, _ in view.series.get(c, [])) if view.series.get(c) else None, year_basis))
                       for c, points in values.items()
                       if points and (not view.series.get(c) or max(y for y, _ in view.series[c]) < max(y for y, _ in points)))
        if short:
            listed = ", ".join(f"{name} (to {last})" for name, last in short)
            notes.append(f"The per-capita view needs each year's population, which this release of the World Bank's "
                         f"population series ends earlier for: {listed}. Later years are in the absolute figures below.")
    if view.name == "index":
        left_out = sorted(names.get(c, c) for c in values if c not in view.series)
        if left_out:
            notes.append(f"Not indexed (no positive value in the baseline year): {', '.join(left_out)}; see the absolute figures.")
    return notes


# --- charts ---------------------------------------------------------------------------------------

def chart_svg(kpi_id: str, view: View, year_basis: str, baseline_year: int | None, colours: dict[str, str],
              names: dict[str, str], width: int = 620, height: int = 270) -> str:
    """One comparison chart: a line per country over the years, Honduras on top with points; axis titles."""
    left, right, top, bottom = 74, 14, 12, 44
    series = {c: p for c, p in view.series.items() if p}
    comparison = _is_comparison(series)
    years = [year for points in series.values() for year, _ in points]
    values = [value for points in series.values() for _, value in points]
    head = (f'<svg class="kpi-chart" data-kpi="{html.escape(kpi_id)}" data-view="{view.name}" '
            f'data-comparison="{"true" if comparison else "false"}" data-points="{len(values)}" '
            f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
            f'aria-label="{html.escape(view.axis_title)}: {html.escape(", ".join(names.get(c, c) for c in series))}">')
    if not years:
        return head + f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle">no data</text></svg>'
    x_min, x_max = min(years), max(years)
    if x_min == x_max:
        x_min, x_max = x_min - 1, x_max + 1
    ticks = _nice_ticks(min(0.0, min(values)), max(0.0, max(values)))
    y_min, y_max = ticks[0], ticks[-1]
    plot_w, plot_h = width - left - right, height - top - bottom

    def x(year: float) -> float:
        return left + (year - x_min) / (x_max - x_min) * plot_w

    def y(value: float) -> float:
        return top + plot_h - (value - y_min) / (y_max - y_min) * plot_h

    parts = [head, f'<rect class="plot" x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none"/>']
    for tick in ticks:
        parts.append(f'<line class="{"zero" if tick == 0 else "grid"}" x1="{left}" x2="{width - right}" '
                     f'y1="{y(tick):.1f}" y2="{y(tick):.1f}"/>')
        parts.append(f'<text class="tick" x="{left - 6}" y="{y(tick) + 4:.1f}" text-anchor="end">{_tick_label(tick)}</text>')
    span = x_max - x_min
    step = 5 if span > 12 else 2 if span > 5 else 1
    for year in range(math.ceil(x_min / step) * step, x_max + 1, step):
        parts.append(f'<text class="tick" x="{x(year):.1f}" y="{top + plot_h + 16}" text-anchor="middle">'
                     f'{format_year(year, year_basis)}</text>')
    parts.append(f'<text class="axis-title" x="{left + plot_w / 2:.1f}" y="{height - 6}" text-anchor="middle">'
                 f'{html.escape(year_basis_text(year_basis, singular=True))}</text>')
    parts.append(f'<text class="axis-title" transform="translate(14 {top + plot_h / 2:.1f}) rotate(-90)" '
                 f'text-anchor="middle">{html.escape(view.axis_title)}</text>')
    if baseline_year is not None and x_min <= baseline_year <= x_max:
        parts.append(f'<line class="baseline" x1="{x(baseline_year):.1f}" x2="{x(baseline_year):.1f}" y1="{top}" '
                     f'y2="{top + plot_h}"><title>baseline {format_year(baseline_year, year_basis)}</title></line>')
    for country in sorted(series, key=lambda c: (c == FOCUS_COUNTRY, c)):  # Honduras last: on top
        points = series[country]
        focus = country == FOCUS_COUNTRY
        path = " ".join(f"{'M' if i == 0 or points[i - 1][0] != year - 1 else 'L'}{x(year):.1f},{y(value):.1f}"
                        for i, (year, value) in enumerate(points))
        parts.append(f'<g class="series{" focus" if focus else ""}" data-country="{country}">'
                     f'<title>{html.escape(names.get(country, country))}</title>'
                     f'<path d="{path}" fill="none" stroke="{colours[country]}" stroke-width="{2.8 if focus else 1.5}"/>')
        for year, value in points:
            parts.append(f'<circle cx="{x(year):.1f}" cy="{y(value):.1f}" r="{2.8 if focus else 1.7}" fill="{colours[country]}">'
                         f'<title>{html.escape(names.get(country, country))} {format_year(year, year_basis)}: '
                         f'{_tick_label(round(value, 1))}</title></circle>')
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)


# --- the page -------------------------------------------------------------------------------------

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:20px;color:#1d2430;background:#fafbfc;line-height:1.4}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 4px}h3{font-size:15px;margin:0}
.sub{color:#4a5360;margin:0 0 12px;max-width:70em}.area-intro{color:#4a5360;margin:0 0 10px;font-size:13px}
.controls{font-size:13px;margin:0 0 8px}.controls label{margin-right:12px;white-space:nowrap}
.glance{display:grid;grid-template-columns:repeat(auto-fill,minmax(300px,1fr));gap:12px}
.tile{background:#fff;border:1px solid #c9d2dd;border-left:5px solid #1f4e9c;border-radius:6px;padding:10px 12px}
.tile h3{font-size:15px}.tile .direction{color:#4a5360;font-size:12px;margin:2px 0 6px}
.tile .measure{font-size:13px;margin:6px 0 0}.tile .measure b{font-size:17px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(560px,1fr));gap:14px}
@media (max-width:760px){.cards{grid-template-columns:1fr}body{margin:10px}}
.card{background:#fff;border:1px solid #dde2e8;border-radius:8px;padding:12px 14px;min-width:0}
.card .meta{color:#4a5360;font-size:12px;margin:2px 0 6px}.framework{color:#1f4e9c;font-weight:600}
.headline{font-size:14px;margin:4px 0 6px}.headline b{font-size:18px}
.status{display:inline-block;border-radius:10px;padding:1px 8px;font-size:12px;font-weight:600;white-space:nowrap}
.status.improving{background:#dcf5e3;color:#17663a}.status.worsening{background:#fde2e1;color:#a4161a}
.status.unchanged,.status.insufficient-data,.status.no-judgement{background:#eceff3;color:#39424e}
figure{margin:6px 0 0}figcaption{font-size:13px;font-weight:600}
.legend{font-size:12px;font-weight:400;color:#39424e}.legend span{margin-right:10px;white-space:nowrap}
svg.kpi-chart{width:100%;height:auto;display:block}
svg .grid{stroke:#e6e9ee;stroke-width:1}svg .zero{stroke:#8a94a3;stroke-width:1}svg .tick{font-size:11px;fill:#4a5360}
svg .axis-title{font-size:11px;fill:#39424e}svg .baseline{stroke:#8a94a3;stroke-dasharray:4 3}
.source{font-size:11.5px;color:#4a5360;margin:2px 0 6px}
.table-wrap{overflow-x:auto}
table{border-collapse:collapse;font-size:12px;width:100%;margin-top:6px}td,th{padding:2px 6px;text-align:right;border-bottom:1px solid #eef0f3}
th{font-weight:600;color:#39424e;vertical-align:bottom}td:first-child,th:first-child{text-align:left;white-space:nowrap}
.swatch{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:4px}
details{margin-top:6px;font-size:12px}summary{cursor:pointer;color:#1f4e9c}
.notes{font-size:12px;color:#39424e;margin:6px 0 0;padding-left:18px}.notes li{margin:2px 0}
footer{margin-top:28px;color:#39424e;font-size:12px;border-top:1px solid #dde2e8;padding-top:10px}
footer code,.meta code{font-size:11px}footer li{margin:2px 0}
"""

# Records what the browser laid out: each chart's drawn extent and marks, and how far Honduras' points
# stand from the zero line (or the plot's bottom), in rendered pixels (read by tests via --dump-dom).
RENDER_PROBE = """
document.querySelectorAll('svg.kpi-chart').forEach(function (svg) {
  var drawn = svg.querySelectorAll('g.series path, g.series circle');
  var box = {width: 0, height: 0};
  try { var g = svg.querySelector('g.series'); if (g) { box = g.getBBox(); } } catch (e) {}
  svg.setAttribute('data-rendered-marks', String(drawn.length));
  svg.setAttribute('data-rendered-width', String(Math.round(box.width)));
  svg.setAttribute('data-rendered-height', String(Math.round(box.height)));
  var plot = svg.querySelector('rect.plot');
  if (plot) {
    var area = plot.getBoundingClientRect();
    var zero = svg.querySelector('line.zero');
    var level = zero ? zero.getBoundingClientRect().top : area.bottom;
    var spread = 0;
    svg.querySelectorAll('g.series.focus circle').forEach(function (c) {
      var r = c.getBoundingClientRect();
      spread = Math.max(spread, Math.abs((r.top + r.bottom) / 2 - level));
    });
    svg.setAttribute('data-rendered-plot-height', String(Math.round(area.height)));
    svg.setAttribute('data-rendered-focus-spread', String(Math.round(spread)));
  }
});
document.body.setAttribute('data-charts-probed', String(document.querySelectorAll('svg.kpi-chart').length));
"""


def _is_input(kpi: dict) -> bool:
    return str(kpi.get("strategy_area", "")).startswith("Inputs")


def _status_badge(status: str | None, kpi: dict) -> str:
    """The scorecard's status; for a KPI the warehouse does not judge (better_direction none), what
    kind of measure it is instead: an input, or a measure with no better direction."""
    if kpi["better_direction"] == "none" and status != "insufficient data":
        status = "no judgement"
    status = status or "insufficient data"
    label = ("input: not judged" if _is_input(kpi) else "no judgement") if status == "no judgement" else status
    return f'<span class="status {status.replace(" ", "-")}">{html.escape(label)}</span>'


def direction_text(kpi: dict) -> str:
    better = kpi["better_direction"]
    if better == "none":
        return "an input: no better direction" if _is_input(kpi) else "no better direction: the warehouse does not judge it"
    return {"higher": "higher is better", "lower": "lower is better"}[better]


def _ordered(items: Iterable[str], order: tuple[str, ...]) -> list[str]:
    items = set(items)
    return [i for i in order if i in items] + sorted(items - set(order))


@dataclass
class _Context:
    kpis: dict[str, dict]
    names: dict[str, str]
    colours: dict[str, str]
    countries: list[str]
    values: dict[str, Series]
    per_100k: dict[str, Series]
    vintages: dict[str, list[str]]
    population: dict[tuple[str, int], float]
    scorecard: dict[tuple[str, str], dict]
    lineage_page: str | None = None  # each absolute value links to its section there, when published


def _context(data: dict[str, list[dict]]) -> _Context:
    names = {row["country_iso3"]: row["country_name"] for row in data["countries"]}
    values: dict[str, Series] = {}
    per_100k: dict[str, Series] = {}
    vintages: dict[str, set] = {}
    for row in data["series"]:
        values.setdefault(row["kpi_id"], {}).setdefault(row["country_iso3"], []).append((row["year"], row["value"]))
        if row.get(PER_100K_COLUMN) is not None:
            per_100k.setdefault(row["kpi_id"], {}).setdefault(row["country_iso3"], []).append((row["year"], row[PER_100K_COLUMN]))
        vintages.setdefault(row["kpi_id"], set()).add(str(row["source_vintage"]))
    countries = sorted({c for per_kpi in values.values() for c in per_kpi}, key=lambda c: (c != FOCUS_COUNTRY, c))
    colours = dict(COLOURS)
    for i, country in enumerate(c for c in countries if c not in colours):
        colours[country] = OTHER_COLOURS[i % len(OTHER_COLOURS)]
    return _Context(
        kpis={row["kpi_id"]: _with_defaults(row) for row in data["kpis"]},
        names=names, colours=colours, countries=countries, values=values, per_100k=per_100k,
        vintages={k: sorted(v) for k, v in vintages.items()},
        population={(row["country_iso3"], row["year"]): row["population"] for row in data.get("population", [])},
        scorecard={(row["country_iso3"], row["kpi_id"]): row for row in data["scorecard"]},
        lineage_page=next((row["page"] for row in data.get("lineage", [])), None),
    )


def _with_defaults(kpi: dict) -> dict:
    """A dim_kpi row with every column the report reads (a serving copy older than them lacks some)."""
    unit = kpi.get("unit") or ""
    guessed_kind = "percent" if "percent" in unit else "rate" if "per 100" in unit else "amount" if "dollar" in unit else "count"
    return {**kpi, "strategy_area": kpi.get("strategy_area") or kpi.get("programme") or "Other measures",
            "framework_kpi": kpi.get("framework_kpi") or None, "publisher": kpi.get("publisher") or kpi.get("source_id"),
            "licence": kpi.get("licence") or "", "year_basis": kpi.get("year_basis") or "calendar",
            "measure_kind": kpi.get("measure_kind") or guessed_kind, "derivation": kpi.get("derivation") or ""}


def kpi_notes(kpi: dict, values: Series, scorecard: dict[tuple[str, str], dict], names: dict[str, str],
              countries: list[str]) -> list[str]:
    """What a reader must know to read the KPI right: missing comparators, gross ratios over 100,
    modelled estimates, negative baselines, inputs (pure: unit-tested)."""
    notes = []
    kpi_id, kind, basis = kpi["kpi_id"], kpi["measure_kind"], kpi["year_basis"]
    missing = [names.get(c, c) for c in countries if c != FOCUS_COUNTRY and not values.get(c)]
    if missing:
        alone = " Honduras is shown alone." if len(missing) == len(countries) - 1 else ""
        notes.append(f"No values in this release for {_join(missing)}.{alone}")
    if kind == "percent":
        over = sorted((names.get(c, c), year, value) for c, points in values.items() for year, value in points if value > 100)
        if over:
            highest = max(over, key=lambda item: item[2])
            why = (" It is a gross ratio: entrants of any age over the population of the official age, so over-age "
                   "and repeating pupils can lift it above 100." if "gross" in kpi["derivation"].lower() else "")
            notes.append(f"Values above 100 ({_join(sorted({name for name, _, _ in over}))}; highest "
                         f"{highest[0]} {format_year(highest[1], basis)}: {highest[2]:,.1f}) are not errors.{why}")
    if "modelled" in kpi["derivation"].lower():
        notes.append("Modelled estimates (ILO), not counts: the newest years rest most on the model and are revised "
                     "most in later releases (marts.kpi_revisions).")
    for country in countries:
        card = scorecard.get((country, kpi_id))
        if card and not _missing(card.get("baseline_value")) and card["baseline_value"] <= 0 and kind != "percent":
            notes.append(f"{names.get(country, country)}'s baseline ({format_year(card['baseline_year'], basis)}: "
                         f"{format_value(card['baseline_value'], kind)}) is not positive, so no percentage change is shown.")
    if kpi["better_direction"] == "none":
        notes.append("An input, shown beside the outcomes: more or less of it is neither improving nor worsening.")
    return notes


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def vintage_text(vintages: list[str]) -> str:
    """The newest release the values come from, and how many releases they span."""
    if not vintages:
        return "–"
    newest = max(vintages)
    return newest if len(vintages) == 1 else f"{newest} (newest of {len(vintages)} releases; oldest {min(vintages)})"


def source_line(kpi: dict, view: View, vintages: list[str]) -> str:
    basis = year_basis_text(kpi["year_basis"])
    return (f'<p class="source">Source: {html.escape(kpi["publisher"])}. Unit: {html.escape(kpi["unit"])}'
            + (f"; chart: {html.escape(view.how)}" if view.name != "as_published" else "")
            + f'. {basis[0].upper() + basis[1:]}. Vintage: {html.escape(vintage_text(vintages))}.</p>')


def _kpi_card(kpi_id: str, ctx: _Context) -> str:
    kpi = ctx.kpis[kpi_id]
    kind, basis, better = kpi["measure_kind"], kpi["year_basis"], kpi["better_direction"]
    values = ctx.values.get(kpi_id, {})
    base_years = {c: card["baseline_year"] for (c, k), card in ctx.scorecard.items() if k == kpi_id and card.get("baseline_year")}
    view = choose_view(kpi, values, ctx.per_100k.get(kpi_id, {}), ctx.population, base_years, ctx.names)
    focus = ctx.scorecard.get((FOCUS_COUNTRY, kpi_id))
    baseline_year = focus["baseline_year"] if focus and focus.get("baseline_year") else kpi.get("baseline_year")
    headline = _headline(kpi, focus)
    present = [c for c in ctx.countries if view.series.get(c)]
    legend = "".join(f'<span data-country="{c}"><span class="swatch" style="background:{ctx.colours[c]}"></span>'
                     f'{html.escape(ctx.names.get(c, c))}</span>' for c in present)
    view_title = {"per_100k": "per 100,000 people", "per_person": "US$ per person",
                  "index": "index, baseline year = 100", "as_published": kpi["unit"]}[view.name]
    title = kpi["kpi_name"] if view_title in kpi["kpi_name"] else f'{kpi["kpi_name"]}, {view_title}'
    rows = []
    for country in ctx.countries:
        card = ctx.scorecard.get((country, kpi_id))
        if card is None or country not in values:
            continue
        rows.append(
            f'<tr data-country="{country}"><td><span class="swatch" style="background:{ctx.colours[country]}"></span>'
            f'{html.escape(ctx.names.get(country, country))}</td>'
            f'<td>{format_year(card["latest_year"], basis)}</td><td>{format_value(card["latest_value"], kind)}</td>'
            f'<td>{format_year(card["baseline_year"], basis)}</td><td>{format_value(card["baseline_value"], kind)}</td>'
            f'<td>{format_change(card["change"], card["baseline_value"], kind)}</td>'
            f'<td>{_status_badge(card.get("status"), kpi)}</td></tr>')
    notes = kpi_notes(kpi, values, ctx.scorecard, ctx.names, ctx.countries) + view.notes
    framework = (f'<span class="framework">{html.escape(kpi["framework_kpi"])}</span> · ' if kpi["framework_kpi"] else "")
    return (
        f'<section class="card" id="{html.escape(kpi_id)}"><h3>{html.escape(kpi["kpi_name"])}</h3>'
        f'<div class="meta">{framework}{html.escape(kpi["strategy_area"])} · {direction_text(kpi)} · '
        f'<code>{html.escape(kpi_id)}</code></div>'
        f'<div class="headline">{headline}</div>'
        f'<figure data-kpi="{html.escape(kpi_id)}"><figcaption>{html.escape(title)} '
        f'<span class="legend">{legend}</span></figcaption>'
        + chart_svg(kpi_id, view, basis, baseline_year, ctx.colours, ctx.names)
        + source_line(kpi, view, ctx.vintages.get(kpi_id, []))
        + "</figure>"
        + '<div class="table-wrap"><table class="scorecard"><thead><tr><th>Country</th><th>Latest year</th>'
          f'<th>Latest value ({html.escape(kpi["unit"])})</th><th>Baseline year</th><th>Baseline value</th>'
          '<th>Change since baseline</th><th>Status</th></tr></thead><tbody>' + "".join(rows) + "</tbody></table></div>"
        + _absolute_table(kpi, values, ctx)
        + (f'<ul class="notes">{"".join(f"<li>{html.escape(n)}</li>" for n in notes)}</ul>' if notes else "")
        + "</section>"
    )


def _headline(kpi: dict, focus: dict | None) -> str:
    kind, basis = kpi["measure_kind"], kpi["year_basis"]
    if not focus or focus.get("latest_year") is None:
        return "Honduras: no value published"
    unit = "" if kind == "amount" else " " + html.escape(kpi["unit"])  # US$ says it already
    text = f'Honduras {format_year(focus["latest_year"], basis)}: <b>{format_value(focus["latest_value"], kind)}</b>{unit}'
    if focus.get("baseline_year") is not None and focus["baseline_year"] != focus["latest_year"]:
        text += (f' · {format_change(focus["change"], focus["baseline_value"], kind)} since '
                 f'{format_year(focus["baseline_year"], basis)}')
    return text + " " + _status_badge(focus.get("status"), kpi)


def _explained(text: str, ctx: _Context, country: str, kpi_id: str, year: int, value) -> str:
    """A published value linked to its section of the lineage page (originals, files, releases), offline."""
    if not ctx.lineage_page or _missing(value):
        return text
    return f'<a href="{ctx.lineage_page}#{cell_anchor(country, kpi_id, year)}" title="where this value comes from">{text}</a>'


def _absolute_table(kpi: dict, values: Series, ctx: _Context) -> str:
    """Every published value, year by year and country by country, one click away."""
    countries = [c for c in ctx.countries if values.get(c)]
    if not countries:
        return ""
    by_year = {c: dict(points) for c, points in values.items()}
    years = sorted({year for points in values.values() for year, _ in points}, reverse=True)
    head = "".join(f'<th data-country="{c}">{html.escape(ctx.names.get(c, c))}</th>' for c in countries)
    body = "".join(
        f"<tr><td>{format_year(year, kpi['year_basis'])}</td>"
        + "".join(f'<td data-country="{c}">{_explained(format_value(by_year[c].get(year), kpi["measure_kind"], exact=True), ctx, c, kpi["kpi_id"], year, by_year[c].get(year))}</td>'
                  for c in countries)
        + "</tr>" for year in years)
    return (f'<details><summary>Absolute figures by year ({html.escape(kpi["unit"])})</summary><div class="table-wrap">'
            f'<table class="absolute"><thead><tr><th>Year</th>{head}</tr></thead><tbody>{body}</tbody></table></div></details>')


def _glance_tile(framework_kpi: str, kpi_ids: list[str], ctx: _Context) -> str:
    measures = []
    for kpi_id in kpi_ids:
        kpi = ctx.kpis[kpi_id]
        focus = ctx.scorecard.get((FOCUS_COUNTRY, kpi_id))
        measures.append(f'<p class="measure"><a href="#{html.escape(kpi_id)}">{html.escape(kpi["kpi_name"])}</a><br>'
                        f'{_headline(kpi, focus)}</p>')
    directions = sorted({direction_text(ctx.kpis[k]) for k in kpi_ids})
    return (f'<div class="tile" data-framework-kpi="{html.escape(framework_kpi)}"><h3>{html.escape(framework_kpi)}</h3>'
            f'<div class="direction">Target direction: {html.escape("; ".join(directions))} · '
            f'{html.escape(ctx.kpis[kpi_ids[0]]["strategy_area"])}</div>{"".join(measures)}</div>')


def _footer(publication: dict, ctx: _Context) -> str:
    vintages = json.loads(publication.get("source_vintages") or "{}")
    by_source: dict[str, dict] = {}
    for kpi in ctx.kpis.values():
        entry = by_source.setdefault(kpi["source_id"], {"publishers": set(), "licences": set(), "kpis": []})
        entry["publishers"].add(kpi["publisher"])
        entry["licences"].add(kpi["licence"])
        entry["kpis"].append(kpi["kpi_id"])
    items = []
    for source_id in sorted(set(by_source) | set(vintages)):
        entry = by_source.get(source_id, {"publishers": set(), "licences": set(), "kpis": []})
        v = vintages.get(source_id, {})
        vintage = (f"{v.get('oldest')}" + (f" … {v.get('newest')}" if v.get("newest") != v.get("oldest") else "")) if v else "–"
        licences = "; ".join(sorted(entry["licences"])) or "see snapshot/PROVENANCE.md"
        publisher = publisher_citation(entry["publishers"]) or source_id
        attribution = ""
        if any("CC BY" in licence for licence in entry["licences"]):
            attribution = (f" Attribution: {html.escape(publisher)}, vintage {html.escape(vintage)}, licensed under "
                           '<a href="https://creativecommons.org/licenses/by/4.0/">CC BY 4.0</a>. Derived values '
                           "(employment, jobs created, the per-capita views) are this project's computations from it.")
        items.append(f"<li><b>{html.escape(publisher)}</b> (<code>{html.escape(source_id)}</code>): vintage "
                     f"{html.escape(vintage)}; licence: {html.escape(licences)}.{attribution}</li>")
    published = publication["published_at"]
    published = published.isoformat(sep=" ", timespec="seconds") if isinstance(published, dt.datetime) else str(published)
    return (
        '<footer><h2>Data and licences</h2>'
        f'<ul id="source-vintages">{"".join(items)}</ul>'
        "<p>Population for the per-capita views: World Bank, World Development Indicators (SP.POP.TOTL), CC BY 4.0. "
        "Status is the direction of change from each KPI's baseline year to its latest year, judged by the KPI's better "
        "direction; the project sets no targets (a user may, in <code>dbt_project/seeds/kpi_targets.csv</code>). "
        "Years: calendar years for World Bank series; US fiscal years (FY, October–September, named by the year they end in) "
        "for US sources.</p>"
        f'<p>Publication <code id="publication-id">{html.escape(publication["publication_id"])}</code>, published '
        f'{html.escape(published)} UTC, git revision <code>{html.escape(str(publication["git_revision"]))}</code>. '
        "Data: the serving copy <code>kpi.duckdb</code> (schema <code>marts</code>) and <code>parquet/</code> beside this page. "
        'Checks: <a href="docs/validation.html">the last validation</a> and the Great Expectations results of the loads, '
        '<a href="docs/data_docs/index.html">Data Docs</a>.</p>'
        "</footer>"
    )


def publisher_citation(publishers: Iterable[str]) -> str:
    """One citation for a source's publishers: "World Bank, WDI (ILO modelled estimates)" and "World Bank,
    WDI (UNODC)" become "World Bank, WDI (data from ILO modelled estimates; UNODC)"."""
    bases: dict[str, set[str]] = {}
    for publisher in publishers:
        base, _, detail = publisher.partition(" (")
        bases.setdefault(base, set()).update({detail.removesuffix(")")} if detail else set())
    return "; ".join(base + (f" (data from {'; '.join(sorted(details))})" if details else "")
                     for base, details in sorted(bases.items()))


def build_report(data: dict[str, list[dict]]) -> Report:
    """The report's HTML from what ``fetch_report_data`` read (pure: no I/O)."""
    publication = data["publication"][0]
    ctx = _context(data)
    areas: dict[str, list[str]] = {}
    framework: dict[str, list[str]] = {}
    for kpi_id in _ordered(ctx.kpis, KPI_ORDER):
        kpi = ctx.kpis[kpi_id]
        if kpi["framework_kpi"]:
            framework.setdefault(kpi["framework_kpi"], []).append(kpi_id)
        else:
            areas.setdefault(kpi["strategy_area"], []).append(kpi_id)
    area_rank = {area: i for i, area in enumerate(_ordered({ctx.kpis[k]["strategy_area"] for k in ctx.kpis}, STRATEGY_AREA_ORDER))}
    framework_order = sorted(framework, key=lambda f: area_rank[ctx.kpis[framework[f][0]]["strategy_area"]])
    tiles = "".join(_glance_tile(f, framework[f], ctx) for f in framework_order)
    framework_cards = "".join(_kpi_card(k, ctx) for f in framework_order for k in framework[f])
    sections = "".join(
        f'<section class="area" id="area-{i}"><h2>{html.escape(area)}</h2><div class="cards">'
        + "".join(_kpi_card(k, ctx) for k in areas[area]) + "</div></section>"
        for i, area in enumerate(sorted(areas, key=lambda a: area_rank[a])))
    toggles = "".join(
        f'<label><input type="checkbox" id="show-{c}" checked> <span class="swatch" style="background:{ctx.colours[c]}"></span>'
        f'{html.escape(ctx.names.get(c, c))}</label>' for c in ctx.countries)
    hide_rules = "".join(f'body:has(#show-{c}:not(:checked)) [data-country="{c}"]{{display:none}}' for c in ctx.countries)
    charts = len(ctx.kpis)
    crisis_panel = crisis_panel_html(data.get("surge_signals", []), ctx.countries, ctx.names, ctx.colours)
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>US–Honduras cooperation KPIs · publication {html.escape(publication["publication_id"])}</title>
<meta name="viewport" content="width=device-width,initial-scale=1"><style>{STYLE}{PANEL_STYLE}{hide_rules}</style></head>
<body>
<h1>US–Honduras cooperation: the framework's KPIs</h1>
<p class="sub">Honduras (bold line with points) against its comparators. Counts are compared per 100,000 people and
money per person, so that large countries do not flatten small ones; the absolute figures are in each table and,
year by year, under "Absolute figures". Status: the direction of change from the baseline year (dashed line) to
the latest year, judged by the KPI's better direction; US assistance is an input and is not judged; removals, displacement, asylum, remittances and seizures have no better direction the warehouse could judge (dim_kpi says why).</p>
<p class="controls">Show: {toggles}</p>
{crisis_panel}
<h2>The framework's four KPIs</h2>
<div class="glance">{tiles}</div>
<div class="cards" style="margin-top:14px">{framework_cards}</div>
{sections}
{_footer(publication, ctx)}
<script>{RENDER_PROBE}</script>
</body></html>
"""
    return Report(html=page, publication_id=publication["publication_id"], charts=charts)
