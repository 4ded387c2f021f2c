"""Which errors a step retry can help with (issue 18): only network faults, 429 and 5xx."""

from __future__ import annotations

import dagster as dg
import pytest

from orchestration.platform.source_assets import _fail_at_once_unless_retryable
from orchestration.core.errors import SettingsError, SourceError, SourceFetchError, SourceFormatError, ValidationFailed

PERMANENT = [
    SourceFormatError("worldbank", "http://x/p1", "received an HTML page"),
    SourceFetchError("worldbank", "http://x/p1", "HTTP 404 NOT FOUND (after 0 retries)"),
    SourceFetchError("worldbank", "http://x/p1", "refusing the redirect from http://x/p1 to http://evil/p1"),
    SourceFetchError("worldbank", "http://x/p1", "gave up after 300.0 s: the request deadline of 300 s passed"),
    SourceError("worldbank", "/snapshot/worldbank", "replay snapshot has no complete landing for this source"),
    SettingsError("KPI_COUNTRIES is empty"),
    ValidationFailed("worldbank_indicator_values: 1 of 18 expectations failed"),
]


@pytest.mark.parametrize("error", PERMANENT, ids=lambda error: str(error)[:40])
def test_a_permanent_error_fails_the_step_without_a_retry(error):
    with pytest.raises(dg.Failure) as failure:
        with _fail_at_once_unless_retryable():
            raise error
    assert failure.value.allow_retries is False
    assert failure.value.description == str(error)


@pytest.mark.parametrize("error", [
    SourceFetchError("worldbank", "http://x/p1", "HTTP 503 SERVICE UNAVAILABLE (after 4 retries)", retryable=True),
    SourceFetchError("worldbank", "http://x/p1", "request failed after 5 attempt(s): ConnectionError", retryable=True),
])
def test_a_network_fault_keeps_the_step_retry(error):
    with pytest.raises(SourceFetchError) as failure:
        with _fail_at_once_unless_retryable():
            raise error
    assert failure.value is error  # Dagster's RetryPolicy applies


def test_a_fetch_error_crosses_a_process_boundary_with_its_retryable_flag():
    import pickle

    error = SourceFetchError("cbp", "http://x/y.csv", "HTTP 502", retryable=True)
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.source, copy.location, copy.problem, copy.retryable, str(copy)) == ("cbp", "http://x/y.csv", "HTTP 502", True, str(error))
