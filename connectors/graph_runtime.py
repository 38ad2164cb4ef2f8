"""What the Microsoft Graph adapters (calendar and mail) share: a synchronous way to run the
async msgraph-sdk, and one reading of Graph's errors.

The SDK is async; a private event loop on one daemon thread runs its coroutines, so callers
stay synchronous (RQ jobs, the web thread) and nothing starts until the first call.

Errors follow Graph's documented status semantics through :func:`connectors.http_errors.error_for`:
403 is missing permission or consent (ReconnectRequired) unless its code says throttled; 409 is
a conflict with the item's current state (Exchange's ErrorIrresolvableConflict, a directory
concurrency violation) that a fresh attempt resolves, so it is transient; 5xx is transient, and
rate limited when Graph sent Retry-After (it does on a throttling 503).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Coroutine
from datetime import datetime
from typing import Any, TypeVar

import httpx
from azure.core.exceptions import ClientAuthenticationError
from kiota_abstractions.api_error import APIError
from msgraph.generated.models.o_data_errors.o_data_error import ODataError

from connectors.errors import (
    EventNotFound,
    PermanentError,
    ReconnectRequired,
    TransientError,
)
from connectors.http_errors import error_for, header, retry_after

T = TypeVar("T")

GRAPH_URL = "https://graph.microsoft.com/v1.0"
# Codes Graph puts on a throttled answer (the status is usually 429 already).
THROTTLE_CODES = frozenset({"ApplicationThrottled", "TooManyRequests"})


class LoopThread:
    """One event loop on one daemon thread, started on first use (and again after close)."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()

    def run(self, coro: Coroutine[Any, Any, T], *, timeout: float, what: str) -> T:
        with self._lock:
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
                threading.Thread(
                    target=self._loop.run_forever, name=self._name, daemon=True
                ).start()
            loop = self._loop
        future = asyncio.run_coroutine_threadsafe(coro, loop)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise TransientError(f"graph {what}: timed out after {timeout:.0f}s") from None

    def close(self) -> None:
        with self._lock:
            loop, self._loop = self._loop, None
        if loop is not None:
            loop.call_soon_threadsafe(loop.stop)


def graph_error(
    error: BaseException,
    what: str,
    *,
    now: datetime,
    not_found: type[PermanentError] = EventNotFound,
) -> BaseException:
    """Our error for what the SDK raised; ``error`` itself when it is not a Graph failure."""
    if isinstance(error, (TransientError, PermanentError)):
        return error  # already ours (a credential refusing to refresh raises ReconnectRequired)
    if isinstance(error, APIError):
        status = int(error.response_status_code or 0)
        code, message = "", str(error.message or "")
        if isinstance(error, ODataError) and error.error is not None:
            code, message = error.error.code or "", error.error.message or message
        return error_for(
            status,
            f"graph {what}: HTTP {status} {code}: {message}".strip(),
            codes=(code,),
            retry_after=retry_after(header(error.response_headers, "retry-after"), now=now),
            throttle_codes=THROTTLE_CODES,
            not_found=not_found,
            conflict=TransientError,
        )
    if isinstance(error, ClientAuthenticationError):
        return ReconnectRequired(f"graph {what}: the Microsoft grant is no longer valid")
    if isinstance(error, httpx.TimeoutException):
        return TransientError(f"graph {what}: timed out ({type(error).__name__})")
    if isinstance(error, (httpx.TransportError, OSError)):
        return TransientError(f"graph {what}: {type(error).__name__}: {error}")
    return error
