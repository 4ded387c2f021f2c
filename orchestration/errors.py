"""Errors a user reads: each names the source, the file or URL, and what was wrong."""


class KpiWarehouseError(Exception):
    """Base class of every error the pipeline raises on purpose."""


class SettingsError(KpiWarehouseError):
    """A setting (environment variable) has a value the warehouse cannot use."""


class SourceError(KpiWarehouseError):
    """Something a publisher sent (or failed to send) that cannot be loaded."""

    def __init__(self, source: str, location: str, problem: str):
        self.source = source
        self.location = location
        self.problem = problem
        super().__init__(f"[{source}] {location}: {problem}")


class SourceFetchError(SourceError):
    """The network request failed (after retries) or returned an error status."""


class SourceFormatError(SourceError):
    """The bytes arrived but are not what the source's parser expects."""


class ValidationFailed(KpiWarehouseError):
    """An expectation suite failed on a load; nothing of that load was written."""
