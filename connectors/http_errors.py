"""What a provider's HTTP error means for us: retry, slow down, reconnect, or give up.

Every adapter (Google Calendar, Gmail, Microsoft Graph calendar and mail, the LLM, the OAuth
token endpoint) reads its SDK's error into a status, the provider's error codes and the
``Retry-After`` header, and asks :func:`error_for` for the matching error from
:mod:`connectors.errors`. The rule, from the HTTP semantics the providers document:

- 401: the token is no good -> ReconnectRequired.
- 429, or a 403 whose code says a quota ran out -> RateLimited (with Retry-After).
- 403 otherwise: permission or consent is missing -> ReconnectRequired, unless the API also
  uses 403 for refusals a new grant cannot fix; then only the scope codes it names reconnect.
- 408 and 5xx: worth a retry -> TransientError, RateLimited when the server said how long.
- 409: the API's own meaning (a conflict with the current state) -> ``conflict``.
- 404, 410: the thing is not there -> ``not_found``.
- any other status -> PermanentError.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from connectors.errors import (
    EventNotFound,
    PermanentError,
    RateLimited,
    ReconnectRequired,
    TransientError,
)


def header(headers: Mapping[str, Any] | None, name: str) -> str | None:
    """A response header by case-insensitive name; the first value when the SDK keeps a list."""
    for key, value in (headers or {}).items():
        if str(key).lower() == name.lower():
            if isinstance(value, (list, tuple)):
                value = value[0] if value else None
            return None if value is None else str(value)
    return None


def retry_after(value: str | None, *, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: delay-seconds, or an HTTP-date measured
    against ``now`` (a date already past means "now": 0). None when absent or unreadable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT; "-0000" parses as naive
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def retryable_status(status: int) -> bool:
    """Statuses where the same request may succeed later."""
    return status in (408, 429) or status >= 500


def error_for(
    status: int,
    message: str,
    *,
    codes: Collection[str] = (),
    retry_after: float | None = None,
    throttle_codes: Collection[str] = (),
    scope_codes: Collection[str] | None = None,
    not_found: type[PermanentError] = EventNotFound,
    conflict: type[Exception] = PermanentError,
) -> Exception:
    """Our error for an HTTP error answer (see the module docstring for the rule).

    ``codes``: the provider's error codes/reasons in the answer. ``throttle_codes``: codes that
    make a 403 a quota refusal. ``scope_codes``: the 403 codes that mean a missing grant; None
    when every other 403 does.
    """
    found = set(codes)
    if status == 401:
        return ReconnectRequired(message)
    if status == 429 or (status == 403 and found & set(throttle_codes)):
        return RateLimited(message, retry_after=retry_after)
    if status == 403 and (scope_codes is None or found & set(scope_codes)):
        return ReconnectRequired(message)
    if retryable_status(status):
        if retry_after is not None:
            return RateLimited(message, retry_after=retry_after)
        return TransientError(message)
    if status == 409:
        return conflict(message)
    if status in (404, 410):
        return not_found(message)
    return PermanentError(message)
