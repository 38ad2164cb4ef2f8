"""Errors adapters raise so the orchestrator can decide between retrying and giving up."""


class TransientError(Exception):
    """Worth retrying with backoff: timeouts, 429, 5xx, a lost connection."""


class PermanentError(Exception):
    """Retrying will not help: bad request, revoked credentials, unknown recipient."""
