"""What the Google adapters (Calendar and Gmail) share: a discovery service that connects to
nothing when it is built, and running one request under our error rules.

Every request has a socket timeout (httplib2 carries it for API calls and google-auth's token
refreshes alike) and ``num_retries=0``: retrying is the orchestrator's decision, with backoff.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from typing import Any

import google_auth_httplib2
import httplib2
from google.auth.credentials import Credentials
from google.auth.exceptions import RefreshError, TransportError
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from connectors.errors import (
    EventNotFound,
    PermanentError,
    ReconnectRequired,
    TransientError,
)
from connectors.http_errors import error_for, retry_after
from connectors.ports import Clock

# Google's words for "a quota ran out" (Calendar and Gmail share them; some come with 403).
GOOGLE_THROTTLE_REASONS = frozenset(
    {"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded", "backendError"}
)


def google_reasons(content: bytes | str | None) -> tuple[list[str], str]:
    """The reasons and the message in a Google API error body, most specific reason first
    (``errors[].reason``, then ``details[].reason``, then the status word)."""
    try:
        error = json.loads(content or b"{}").get("error", {})
    except (ValueError, AttributeError, TypeError):
        return [], ""
    if not isinstance(error, dict):
        return [str(error)], ""
    found = [e.get("reason") for e in error.get("errors", []) if isinstance(e, dict)]
    found += [d.get("reason") for d in error.get("details", []) if isinstance(d, dict)]
    found.append(error.get("status"))
    reasons = [str(r) for r in dict.fromkeys(found) if r]
    return reasons, str(error.get("message", "") or "")


def google_service(
    api: str, version: str, credentials: Credentials, *, timeout: float, endpoint: str | None
) -> Any:
    http = google_auth_httplib2.AuthorizedHttp(credentials, http=httplib2.Http(timeout=timeout))
    return build(
        api,
        version,
        http=http,
        static_discovery=True,  # the discovery document ships in the wheel: no network
        cache_discovery=False,
        client_options={"api_endpoint": endpoint} if endpoint else None,
    )


def execute(
    request: Any,
    *,
    credentials: Credentials,
    label: str,
    what: str,
    clock: Clock,
    refreshed: Callable[[], None] | None = None,
    scope_codes: Collection[str] | None = None,
    not_found: type[PermanentError] = EventNotFound,
    conflict: type[Exception] = PermanentError,
) -> Any:
    """``request.execute()`` once. ``refreshed`` is told when google-auth refreshed the access
    token on the way, so the new one can be stored; the rest is passed to :func:`http_error`."""
    token_before = credentials.token
    try:
        return request.execute(num_retries=0)
    except HttpError as error:
        raise http_error(
            error,
            label=label,
            what=what,
            clock=clock,
            scope_codes=scope_codes,
            not_found=not_found,
            conflict=conflict,
        ) from error
    except RefreshError as error:
        data = error.args[1] if len(error.args) > 1 else {}
        code = data.get("error") if isinstance(data, dict) else None
        if code != "invalid_grant" and getattr(error, "retryable", False):
            raise TransientError(f"{label} {what}: token refresh failed: {error}") from error
        raise ReconnectRequired(
            f"{label} {what}: the Google grant was revoked or is no longer valid"
        ) from error
    except (TimeoutError, TransportError, httplib2.HttpLib2Error, OSError) as error:
        # Timeouts and lost connections: the request may or may not have been applied.
        raise TransientError(f"{label} {what}: {type(error).__name__}: {error}") from error
    finally:
        if refreshed is not None and credentials.token != token_before:
            refreshed()


def http_error(
    error: HttpError,
    *,
    label: str,
    what: str,
    clock: Clock,
    scope_codes: Collection[str] | None = None,
    not_found: type[PermanentError] = EventNotFound,
    conflict: type[Exception] = PermanentError,
) -> Exception:
    status = int(error.resp.status)
    reasons, message = google_reasons(error.content)
    return error_for(
        status,
        f"{label} {what}: HTTP {status} {reasons[0] if reasons else ''}: {message}".strip(),
        codes=reasons,
        retry_after=retry_after(error.resp.get("retry-after"), now=clock.now()),
        throttle_codes=GOOGLE_THROTTLE_REASONS,
        scope_codes=scope_codes,
        not_found=not_found,
        conflict=conflict,
    )
