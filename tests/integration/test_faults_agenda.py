"""The fault matrix of tests/integration/test_faults.py for the sources of issue 14 (DHS enforcement
tables, UNHCR API, UNODC annex): their live fetch -> parse -> validate against a local server serving
the real bytes, one fault injected at a time, through the same fault machinery (tests/faults.py)."""

from __future__ import annotations

import re
import time

import pytest

from orchestration.core.errors import SourceFetchError, SourceFormatError
from orchestration.sources import dhs_enforcement, unhcr, unodc
from tests.conftest import SNAPSHOT_DIR
from tests.faults import XLSX, LivePublishers, Publisher, fetch, live_settings, parse_and_validate
from tests.integration.test_faults import (
    BAD_INPUT,
    PERSISTENT,
    TRANSIENT,
    TRUNCATED,
    _assert_archived_as_served,
    _assert_failed_fetch_archived,
)

pytestmark = pytest.mark.integration

SOURCES = ("dhs_enforcement", "unhcr", "unodc")
DHS_WORKBOOK = "2024_1206_ohss_immigration-enforcement-and-legal-processes-tables-august-2024.xlsx"
UNODC_WORKBOOK = "7.1_Drug_seizures_2018-2022.xlsx"


def agenda_publishers() -> dict[str, Publisher]:
    """The three sources served from the snapshot's bytes (UNHCR for HND only: one page per endpoint)."""
    dhs_body = (SNAPSHOT_DIR / "dhs_enforcement" / "2024-08-release" / DHS_WORKBOOK).read_bytes()
    unodc_body = next((SNAPSHOT_DIR / "unodc").glob(f"*/{UNODC_WORKBOOK}")).read_bytes()
    unhcr_landing = next((SNAPSHOT_DIR / "unhcr").iterdir())
    unhcr_files = {f"/population/v1/{endpoint}/": ((unhcr_landing / unhcr.page_file_name(endpoint, "HND", 1)).read_bytes(), "application/json")
                   for endpoint in unhcr.ENDPOINT_ORDER}
    return {
        "dhs_enforcement": Publisher(
            dhs_enforcement.SPEC, {f"/ohss/{DHS_WORKBOOK}": (dhs_body, XLSX)}, target=f"/ohss/{DHS_WORKBOOK}", kind="xlsx",
            env={"KPI_DHS_ENFORCEMENT_BASE_URL": "{base}", "KPI_DHS_ENFORCEMENT_WORKBOOK_URLS": "{base}/ohss/" + DHS_WORKBOOK},
        ),
        "unhcr": Publisher(
            unhcr.SPEC, unhcr_files, target="/population/v1/population/", kind="json",
            env={"KPI_COUNTRIES": "HND", "KPI_UNHCR_BASE_URL": "{base}/population/v1"},
        ),
        "unodc": Publisher(
            unodc.SPEC, {f"/unodc/{UNODC_WORKBOOK}": (unodc_body, XLSX)}, target=f"/unodc/{UNODC_WORKBOOK}", kind="xlsx",
            env={"KPI_UNODC_ANNEX_PAGE_URL": "{base}/unodc/annex.html", "KPI_UNODC_DRUG_SEIZURES_URL": "{base}/unodc/" + UNODC_WORKBOOK},
        ),
    }


@pytest.fixture
def live(httpserver):
    publishers = LivePublishers(httpserver, agenda_publishers())
    yield publishers
    publishers.stop()


def test_each_source_loads_whole_without_faults(live, tmp_path, monkeypatch):
    for source in SOURCES:
        publisher = live.publishers[source]
        settings = live_settings(live, source, tmp_path / source, monkeypatch)
        [landing] = fetch(publisher.spec, settings)
        _assert_archived_as_served(live, source, landing)
        reports = parse_and_validate(publisher.spec, [landing], settings)
        assert all(report.success for report in reports), [r.message() for r in reports if not r.success]


@pytest.mark.parametrize("fault", list(TRANSIENT))
@pytest.mark.parametrize("source", SOURCES)
def test_transient_fault_is_retried_then_the_load_is_whole(live, tmp_path, monkeypatch, source, fault):
    publisher = live.publishers[source]
    live.faults.add(publisher.target, *TRANSIENT[fault])
    settings = live_settings(live, source, tmp_path, monkeypatch, KPI_HTTP_TIMEOUT_SECONDS="0.5", KPI_HTTP_RETRIES="3")
    started = time.monotonic()
    [landing] = fetch(publisher.spec, settings)
    assert live.faults.calls[publisher.target] == len(TRANSIENT[fault]) + 1
    if fault.startswith("429"):
        assert time.monotonic() - started >= 1.0
    _assert_archived_as_served(live, source, landing)
    reports = parse_and_validate(publisher.spec, [landing], settings)
    assert all(report.success for report in reports), [r.message() for r in reports if not r.success]


@pytest.mark.parametrize("fault", list(PERSISTENT))
@pytest.mark.parametrize("source", SOURCES)
def test_persistent_fault_fails_naming_source_and_url(live, tmp_path, monkeypatch, source, fault):
    publisher = live.publishers[source]
    kind, pattern = PERSISTENT[fault]
    live.faults.add(publisher.target, *[kind] * 3)
    settings = live_settings(live, source, tmp_path, monkeypatch, KPI_HTTP_TIMEOUT_SECONDS="0.5", KPI_HTTP_RETRIES="2")
    with pytest.raises(SourceFetchError) as failure:
        fetch(publisher.spec, settings)
    message = str(failure.value)
    assert message.startswith(f"[{source}] {live.url_for(publisher.target)}"), message
    assert re.search(pattern, message), message
    _assert_failed_fetch_archived(settings, source)


@pytest.mark.parametrize("fault", list(BAD_INPUT))
@pytest.mark.parametrize("source", SOURCES)
def test_bad_body_fails_without_retry_naming_source_and_url(live, tmp_path, monkeypatch, source, fault):
    publisher = live.publishers[source]
    body_fault, pattern = BAD_INPUT[fault]
    pattern = pattern or TRUNCATED[publisher.kind]
    live.faults.add(publisher.target, body_fault)
    settings = live_settings(live, source, tmp_path, monkeypatch)
    with pytest.raises(SourceFormatError, match=pattern) as failure:
        fetch(publisher.spec, settings)
    assert str(failure.value).startswith(f"[{source}] {live.url_for(publisher.target)}")
    assert live.faults.calls[publisher.target] == 1  # bad bytes are not retried
    _assert_failed_fetch_archived(settings, source)
