"""Errors a user reads: each names the source, the file or URL, and what was wrong.

Every error says whether trying again can help (``retryable``): only network faults, 429 and 5xx
answers can succeed on a later attempt. Bad bytes, an error body, a 404, a refused redirect, a spent
deadline, a missing snapshot or a bad setting fail the same way every time, so the loading asset
fails them at once (no step retry) and the transport does not repeat them either.
"""


class KpiWarehouseError(Exception):
    """Base class of every error the pipeline raises on purpose."""

    # a later attempt would see the same input and fail the same way
    retryable = False


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
    """The network request failed (after retries), returned an error status, was redirected where
    the source may not fetch from, or ran out of time. ``retryable`` says whether a later attempt
    can succeed: a connection fault, 429 or 5xx can; a 404, a refused host or a spent deadline cannot."""

    def __init__(self, source: str, location: str, problem: str, retryable: bool = False):
        super().__init__(source, location, problem)
        self.retryable = retryable

    def __reduce__(self):  # pickles with its four arguments (errors cross process boundaries)
        return (type(self), (self.source, self.location, self.problem, self.retryable))


class SourceFormatError(SourceError):
    """The bytes arrived but are not what the source's parser expects."""


class ValidationFailed(KpiWarehouseError):
    """An expectation suite failed on a load; nothing of that load was written."""
