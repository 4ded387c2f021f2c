"""The publication audit on real DuckDB files: what a candidate loses against the live publication."""

from __future__ import annotations

import duckdb

from orchestration.publish.audit import AuditFinding, audit_candidate, describe_findings, year_ranges


def publication(path, kpi_rows, extra_rows=3):
    with duckdb.connect(str(path)) as conn:
        conn.execute("create schema marts")
        conn.execute("create table marts.kpi_annual (country_iso3 varchar, kpi_id varchar, year integer, value double)")
        conn.executemany("insert into marts.kpi_annual values (?, ?, ?, ?)", kpi_rows)
        conn.execute(f"create table marts.fct_other as select range as id from range({extra_rows})")
        conn.execute("create table marts.publication as select 'x' as publication_id")
    return path


LIVE = [("HND", "homicide_rate", year, 30.0) for year in range(2000, 2011)] + [("MEX", "homicide_rate", 2010, 20.0)]


def test_nothing_lost_is_no_finding(tmp_path):
    live = publication(tmp_path / "live.duckdb", LIVE)
    candidate = publication(tmp_path / "candidate.duckdb", LIVE + [("MEX", "homicide_rate", 2011, 21.0)], extra_rows=5)
    assert audit_candidate(live, candidate) == []


def test_years_lost_by_a_series_and_rows_lost_by_a_mart_are_named(tmp_path):
    live = publication(tmp_path / "live.duckdb", LIVE)
    kept = [row for row in LIVE if not (row[0] == "HND" and row[2] in (2003, 2004, 2005, 2009))]
    nulled = [("MEX", "homicide_rate", 2010, None)]
    candidate = publication(tmp_path / "candidate.duckdb", [row for row in kept if row[0] == "HND"] + nulled, extra_rows=2)
    findings = audit_candidate(live, candidate)
    assert AuditFinding("series_lost_years", "HND homicide_rate", "lost 2003-2005, 2009 (4 year(s))") in findings
    assert AuditFinding("series_lost_years", "MEX homicide_rate", "lost 2010 (1 year(s))") in findings  # a value gone is a year lost
    assert AuditFinding("mart_lost_rows", "marts.fct_other", "3 rows live, 2 in the candidate") in findings
    assert not any(finding.subject == "marts.publication" for finding in findings)  # the record is not data
    assert describe_findings(findings).startswith(f"{len(findings)} finding(s): ")


def test_a_mart_missing_from_the_candidate_is_a_finding_and_a_first_publication_has_none(tmp_path):
    live = publication(tmp_path / "live.duckdb", LIVE)
    candidate = tmp_path / "candidate.duckdb"
    with duckdb.connect(str(candidate)) as conn:
        conn.execute("create schema marts")
        conn.execute("create table marts.kpi_annual as select * from (values ('HND', 'homicide_rate', 2000, 1.0)) "
                     "as t(country_iso3, kpi_id, year, value)")
    assert AuditFinding("mart_lost_rows", "marts.fct_other", "missing from the candidate (3 rows live)") in audit_candidate(live, candidate)
    assert audit_candidate(tmp_path / "no-live.duckdb", candidate) == []


def test_a_mart_reshaped_by_a_new_version_is_not_compared_by_rows(tmp_path):
    """A new version that moves a fact to one grain (fewer rows, other columns) publishes; the same
    columns with fewer rows is still a finding."""
    live = publication(tmp_path / "live.duckdb", LIVE)
    candidate = publication(tmp_path / "candidate.duckdb", LIVE, extra_rows=1)
    with duckdb.connect(str(candidate)) as conn:
        conn.execute("alter table marts.fct_other rename column id to other_id")
    assert audit_candidate(live, candidate) == []
    with duckdb.connect(str(candidate)) as conn:
        conn.execute("alter table marts.fct_other add column id bigint")
    assert audit_candidate(live, candidate) == [AuditFinding("mart_lost_rows", "marts.fct_other", "3 rows live, 1 in the candidate")]


def test_year_ranges_read_as_people_write_them():
    assert year_ranges([2005, 2000, 2001, 2002, 2009, 2010]) == "2000-2002, 2005, 2009-2010"
    assert year_ranges([2024]) == "2024"


def test_a_long_list_of_findings_is_shortened():
    findings = [AuditFinding("series_lost_years", f"C{i} k", "lost 2000 (1 year(s))") for i in range(12)]
    text = describe_findings(findings)
    assert text.startswith("12 finding(s): ") and text.endswith("and 4 more")


def test_a_mart_whose_model_the_project_removed_is_not_lost_but_one_it_defines_is(tmp_path):
    live = publication(tmp_path / "live.duckdb", LIVE)
    with duckdb.connect(str(live)) as conn:
        conn.execute("create table marts.legacy_fct_other as select range as id from range(4)")
    candidate = publication(tmp_path / "candidate.duckdb", LIVE)
    # the project (e.g. 0.4.0) no longer defines legacy_fct_other: gone on purpose, not a finding
    assert audit_candidate(live, candidate, defined_marts={"kpi_annual", "fct_other"}) == []
    # a mart the project still defines that the candidate lacks is lost, and so is any missing mart without the list
    lost = AuditFinding("mart_lost_rows", "marts.legacy_fct_other", "missing from the candidate (4 rows live)")
    assert audit_candidate(live, candidate, defined_marts={"kpi_annual", "fct_other", "legacy_fct_other"}) == [lost]
    assert audit_candidate(live, candidate) == [lost]
