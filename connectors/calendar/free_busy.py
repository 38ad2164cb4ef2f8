"""Rules every remote calendar adapter follows when it asks a provider about people's time."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from connectors.errors import ReconnectRequired


def utc(value: datetime) -> datetime:
    """``value`` in UTC; a naive time is refused rather than guessed."""
    if value.tzinfo is None:
        raise ValueError("calendar times must be timezone-aware")
    return value.astimezone(UTC)


def asker_and_batches(
    emails: Sequence[str], *, connected: Callable[[str], bool], provider: str, per_call: int
) -> tuple[str, list[list[str]]]:
    """Whose grant asks for everyone's free/busy (the first listed person who connected:
    colleagues share free/busy with each other), and the de-duplicated, lower-cased emails in
    batches the provider takes per call. No emails: no batches."""
    wanted = list(dict.fromkeys(e.lower() for e in emails))
    if not wanted:
        return "", []
    asker = next((e for e in wanted if connected(e)), None)
    if asker is None:
        raise ReconnectRequired(f"none of {', '.join(wanted)} has connected {provider}")
    return asker, [wanted[i : i + per_call] for i in range(0, len(wanted), per_call)]
