"""Errors adapters raise so the orchestrator can decide between retrying and giving up."""


class TransientError(Exception):
    """Worth retrying with backoff: timeouts, 429, 5xx, a lost connection."""


class PermanentError(Exception):
    """Retrying will not help: bad request, revoked credentials, unknown recipient."""


class RateLimited(TransientError):
    """The provider asked us to slow down (429, or a quota 403); ``retry_after`` is in seconds
    when the provider said how long, so the caller's backoff can honour it."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ReconnectRequired(PermanentError):
    """The rep's grant was revoked or lacks a scope (401/403): only the rep reconnecting the
    account fixes it, so the orchestrator tells the rep instead of retrying."""


class EventNotFound(PermanentError):
    """The calendar event does not exist (or was deleted); updating it cannot succeed."""
