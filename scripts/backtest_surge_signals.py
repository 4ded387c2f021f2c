"""Back-test of marts.surge_signals against the surge episodes the US government described at the time.

    .venv/bin/python scripts/backtest_surge_signals.py [path to a serving copy or warehouse DuckDB file]

Reads the Border Patrol Southwest-border series (the one monthly series that reaches back to FY2000)
and, for each country and episode, prints the first flagged month (elevated or surge) from six
months before the episode to its peak, how many months before the peak it came, and the flagged
months outside every episode (false alarms) with the quiet years they fall in. The episodes and the
statements they rest on are listed in EPISODES (and in docs/surge-signals.md, with this output).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb

SERIES_ID = "usbp_encounters_southwest_border"
COUNTRIES = ("HND", "GTM", "SLV", "NIC", "MEX")
LEAD_MONTHS = 6  # a flag up to this many months before an episode's window counts as its early warning

# The statements (docs/surge-signals.md cites them in full).
STATEMENTS = {
    "WH-2014-06-02": "The White House, Presidential Memorandum 'Response to the Influx of Unaccompanied Alien Children "
                     "Across the Southwest Border', 2 June 2014",
    "DHS-2016-10-17": "DHS, 'Statement by Secretary Jeh C. Johnson on Southwest Border Security', 17 October 2016",
    "CBP-2019-03-27": "CBP Commissioner Kevin McAleenan, press conference in El Paso, 27 March 2019 ('the breaking point "
                      "has arrived this week at our border')",
    "DHS-2019-06-11": "Acting DHS Secretary Kevin McAleenan, testimony to the Senate Judiciary Committee, 11 June 2019 "
                      "('a modern record of 144,000' in May)",
    "DHS-2021-03-16": "DHS, 'Statement by Homeland Security Secretary Alejandro N. Mayorkas Regarding the Situation at the "
                      "Southwest Border', 16 March 2021",
    "WH-2023-01-05": "The White House, 'Fact Sheet: Biden-Harris Administration Announces New Border Enforcement "
                     "Actions', 5 January 2023 (parole process extended to Nicaraguans)",
    "CBP-2024-01-26": "CBP, 'CBP Releases December 2023 Monthly Update', 26 January 2024 (302,034 Southwest border "
                      "encounters, the highest monthly total on record)",
}


@dataclass(frozen=True)
class Episode:
    country_iso3: str
    name: str
    first_month: str  # YYYY-MM: the window the statements describe
    last_month: str
    statements: tuple[str, ...]


# Windows follow the statements; the peak is read from the data (the highest month in the window).
EPISODES = (
    *(Episode(c, "2014 unaccompanied children", "2013-10", "2014-08", ("WH-2014-06-02",)) for c in ("HND", "GTM", "SLV")),
    *(Episode(c, "2016 families and children", "2016-06", "2016-12", ("DHS-2016-10-17",)) for c in ("HND", "GTM", "SLV")),
    *(Episode(c, "2018-2019 family units", "2018-07", "2019-07", ("CBP-2019-03-27", "DHS-2019-06-11"))
      for c in ("HND", "GTM", "SLV", "NIC")),
    *(Episode(c, "2021 Southwest border", "2021-01", "2021-09", ("DHS-2021-03-16",)) for c in ("HND", "GTM", "SLV", "MEX")),
    Episode("NIC", "2021-2022 Nicaraguans", "2021-03", "2022-12", ("DHS-2021-03-16", "WH-2023-01-05")),
    *(Episode(c, "2023 record months", "2023-05", "2023-12", ("CBP-2024-01-26",)) for c in ("HND", "GTM", "MEX")),
)


def month_number(text: str) -> int:
    year, month = (int(part) for part in text.split("-"))
    return year * 12 + month - 1


def month_text(number: int) -> str:
    return f"{number // 12}-{number % 12 + 1:02d}"


def read_signals(path: Path) -> dict[str, dict[int, tuple[int, str | None]]]:
    """country -> month number -> (value, level) of the Border Patrol series."""
    with duckdb.connect(str(path), read_only=True) as connection:
        rows = connection.execute(
            "SELECT country_iso3, month_start_date, value, level FROM marts.surge_signals WHERE series_id = ?",
            [SERIES_ID]).fetchall()
    signals: dict[str, dict[int, tuple[int, str | None]]] = {}
    for country, month, value, level in rows:
        signals.setdefault(country, {})[month.year * 12 + month.month - 1] = (value, level)
    return signals


@dataclass
class EpisodeResult:
    episode: Episode
    peak: int
    peak_value: int
    first_flag: int | None
    first_surge: int | None

    @property
    def hit(self) -> bool:
        return self.first_flag is not None

    @property
    def lead_months(self) -> int | None:
        return None if self.first_flag is None else self.peak - self.first_flag


def evaluate(signals: dict[str, dict[int, tuple[int, str | None]]]) -> tuple[list[EpisodeResult], dict[str, list[int]], dict[str, int]]:
    """(episode results, false-alarm months per country, assessed months per country)."""
    results = []
    covered: dict[str, set[int]] = {}
    for episode in EPISODES:
        months = signals.get(episode.country_iso3, {})
        first, last = month_number(episode.first_month), month_number(episode.last_month)
        in_window = [m for m in months if first <= m <= last]
        peak = max(in_window, key=lambda m: months[m][0])
        early = [m for m in sorted(months) if first - LEAD_MONTHS <= m <= peak and months[m][1] in ("elevated", "surge")]
        surges = [m for m in early if months[m][1] == "surge"]
        results.append(EpisodeResult(episode, peak, months[peak][0], early[0] if early else None, surges[0] if surges else None))
        covered.setdefault(episode.country_iso3, set()).update(range(first - LEAD_MONTHS, last + 1))
    false_alarms = {
        country: sorted(m for m, (_, level) in signals.get(country, {}).items()
                        if level in ("elevated", "surge") and m not in covered.get(country, set()))
        for country in COUNTRIES}
    assessed = {country: sum(1 for _, level in signals.get(country, {}).values() if level is not None) for country in COUNTRIES}
    return results, false_alarms, assessed


def report(signals: dict[str, dict[int, tuple[int, str | None]]]) -> str:
    results, false_alarms, assessed = evaluate(signals)
    lines = ["Episodes (Border Patrol encounters, Southwest land border; flag = elevated or surge):", "",
             "| Country | Episode | Peak month (value) | First flag | Months before peak | First surge |",
             "|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r.episode.country_iso3} | {r.episode.name} | {month_text(r.peak)} ({r.peak_value:,}) | "
                     f"{month_text(r.first_flag) if r.first_flag is not None else 'MISSED'} | "
                     f"{r.lead_months if r.lead_months is not None else '–'} | "
                     f"{month_text(r.first_surge) if r.first_surge is not None else '–'} |")
    lines += ["", "Per country:", "",
              "| Country | Episodes | Hits | Misses | Months assessed | False-alarm months | Years with a false alarm |",
              "|---|---|---|---|---|---|---|"]
    for country in COUNTRIES:
        mine = [r for r in results if r.episode.country_iso3 == country]
        alarms = false_alarms[country]
        years = sorted({m // 12 for m in alarms})
        lines.append(f"| {country} | {len(mine)} | {sum(r.hit for r in mine)} | {sum(not r.hit for r in mine)} | "
                     f"{assessed[country]} | {len(alarms)} | {', '.join(map(str, years)) or 'none'} |")
    lines += ["", "False-alarm months: " + "; ".join(
        f"{country} {', '.join(month_text(m) for m in false_alarms[country]) or 'none'}" for country in COUNTRIES)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database", nargs="?", default=str(Path(__file__).resolve().parent.parent / "data" / "serving" / "kpi.duckdb"),
                        help="a serving copy or warehouse DuckDB file with marts.surge_signals (default: data/serving/kpi.duckdb)")
    args = parser.parse_args(argv)
    print(f"Back-test of marts.surge_signals in {args.database} ({dt.date.today():%Y-%m-%d})\n")
    print(report(read_signals(Path(args.database))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
