"""The publication audit: a candidate publication compared with the live one before the switch.

Every check of the loads and of dbt has passed by now; this one looks at what BI users would see
change. A (country, KPI) series of ``kpi_annual`` that loses years, or a mart that loses rows, is a
finding (a mart whose columns changed, reshaped by a new version of the project, is not compared by rows): publishers add and revise, they rarely take away, and when the warehouse does it is
usually a partial load, a lost release or a bug in a path no test named. Findings refuse the
publication unless the run was told to accept them (``--accept-shrink``, run tag
``kpi/accept_shrink=true``). A live mart that no model of the project defines any more (removed
by a new version, e.g. 0.4.0's ``legacy_*`` tables) is not a loss: its model is gone on purpose, and
the dbt step dropped its table. That facts agree with ``kpi_annual`` is a dbt test of each fact
(``agrees_with_kpi_annual``), run in the same build: a disagreement never reaches publishing.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb

from orchestration.core.sql import identifier, sql_string

MARTS_SCHEMA = "marts"
# the publication's own record changes every time; it is not data
NOT_AUDITED = frozenset({"publication"})
SHOWN = 8  # findings spelled out in a message; the rest are counted


@dataclass(frozen=True)
class AuditFinding:
    kind: str  # "series_lost_years" or "mart_lost_rows"
    subject: str  # "HND homicide_rate" or "marts.kpi_annual"
    detail: str

    def describe(self) -> str:
        return f"{self.subject}: {self.detail}"

    def as_dict(self) -> dict:
        return asdict(self)


def year_ranges(years: list[int]) -> str:
    """2000, 2001, 2002, 2005 -> '2000-2002, 2005'."""
    parts: list[str] = []
    for year in sorted(years):
        if parts and parts[-1][1] == year - 1:
            parts[-1] = (parts[-1][0], year)
        else:
            parts.append((year, year))
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in parts)


def _tables(connection: duckdb.DuckDBPyConnection, database: str) -> list[str]:
    return [row[0] for row in connection.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND schema_name = ? ORDER BY table_name",
        [database, MARTS_SCHEMA],
    ).fetchall()]


def _columns(connection: duckdb.DuckDBPyConnection, database: str, table: str) -> set[str]:
    return {row[0] for row in connection.execute(
        "SELECT column_name FROM duckdb_columns() WHERE database_name = ? AND schema_name = ? AND table_name = ?",
        [database, MARTS_SCHEMA, table],
    ).fetchall()}


def _lost_rows(connection: duckdb.DuckDBPyConnection, defined_marts: Collection[str] | None) -> list[AuditFinding]:
    findings = []
    candidate_tables = set(_tables(connection, "candidate"))
    for table in _tables(connection, "live"):
        if table in NOT_AUDITED:
            continue
        if table not in candidate_tables and defined_marts is not None and table not in defined_marts:
            continue  # its model was removed from the project: gone on purpose
        live_rows = connection.execute(f"SELECT count(*) FROM live.{MARTS_SCHEMA}.{identifier(table)}").fetchone()[0]
        if table not in candidate_tables:
            findings.append(AuditFinding("mart_lost_rows", f"marts.{table}", f"missing from the candidate ({live_rows:,} rows live)"))
            continue
        if not _columns(connection, "live", table) <= _columns(connection, "candidate", table):
            # a mart whose columns changed was reshaped by a new version of the project (e.g. a fact
            # moved to one grain, its old rows to another table): its row counts do not compare
            continue
        candidate_rows = connection.execute(f"SELECT count(*) FROM candidate.{MARTS_SCHEMA}.{identifier(table)}").fetchone()[0]
        if candidate_rows < live_rows:
            findings.append(AuditFinding("mart_lost_rows", f"marts.{table}",
                                         f"{live_rows:,} rows live, {candidate_rows:,} in the candidate"))
    return findings


def _lost_years(connection: duckdb.DuckDBPyConnection) -> list[AuditFinding]:
    """Years with a value in a live (country, KPI) series and none in the candidate's."""
    rows = connection.execute(
        f"""
        SELECT live_values.country_iso3, live_values.kpi_id, list(live_values.year ORDER BY live_values.year)
        FROM live.{MARTS_SCHEMA}.kpi_annual AS live_values
        WHERE live_values.value IS NOT NULL
          AND NOT EXISTS (
              SELECT 1 FROM candidate.{MARTS_SCHEMA}.kpi_annual AS candidate_values
              WHERE candidate_values.country_iso3 = live_values.country_iso3
                AND candidate_values.kpi_id = live_values.kpi_id
                AND candidate_values.year = live_values.year
                AND candidate_values.value IS NOT NULL)
        GROUP BY live_values.country_iso3, live_values.kpi_id
        ORDER BY live_values.kpi_id, live_values.country_iso3
        """
    ).fetchall()
    return [AuditFinding("series_lost_years", f"{country} {kpi}", f"lost {year_ranges(years)} ({len(years)} year(s))")
            for country, kpi, years in rows]


def audit_candidate(live_file: Path, candidate_file: Path, defined_marts: Collection[str] | None = None) -> list[AuditFinding]:
    """What the candidate loses against the live publication (empty: nothing lost). ``defined_marts``:
    the marts the dbt project defines (None: every live mart is expected in the candidate)."""
    if not live_file.is_file():
        return []
    with duckdb.connect() as connection:
        connection.execute(f"ATTACH {sql_string(str(live_file))} AS live (READ_ONLY)")
        connection.execute(f"ATTACH {sql_string(str(candidate_file))} AS candidate (READ_ONLY)")
        findings = []
        both = set(_tables(connection, "live")) & set(_tables(connection, "candidate"))
        if "kpi_annual" in both:
            findings += _lost_years(connection)
        findings += _lost_rows(connection, defined_marts)
    return findings


def describe_findings(findings: list[AuditFinding]) -> str:
    shown = "; ".join(finding.describe() for finding in findings[:SHOWN])
    more = f"; and {len(findings) - SHOWN} more" if len(findings) > SHOWN else ""
    return f"{len(findings)} finding(s): {shown}{more}"
