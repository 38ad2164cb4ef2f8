"""/webhooks/gmail and /webhooks/graph: mail providers saying a mailbox changed.

Both only queue that mailbox's read (`orchestrator.inbox.push`) and answer at once: the read runs
on a worker, and nothing in a notification is acted on beyond choosing the mailbox. Neither path
serves anything until its settings turn it on.

- Gmail (Pub/Sub push): the bearer token must be our push subscription's (connectors.pubsub_push),
  else 401/403 and nothing is queued. A well-signed message we cannot read is acknowledged (204)
  all the same: Pub/Sub would otherwise deliver it again for a week.
- Graph: a `validationToken` query is the subscription handshake, echoed as text/plain; a batch
  of notifications is answered 202, and only those carrying their subscription's clientState
  queue a read.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

import structlog

from orchestrator.deps import Deps
from orchestrator.inbox.push import gmail_pushed, graph_notified

log = structlog.get_logger(__name__)

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

PATHS = ("/webhooks/gmail", "/webhooks/graph")
# A Gmail push is a few hundred bytes; a Graph batch a few KB per notification.
MAX_BODY = 256 * 1024
MAX_VALIDATION_TOKEN = 4096


def _answer(start_response: StartResponse, status: str, body: bytes = b"") -> list[bytes]:
    start_response(status, [("Content-Type", "text/plain; charset=utf-8")])
    return [body]


def _body(environ: dict[str, Any]) -> bytes | None:
    """The request body, or None when it is larger than any real notification."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    if length > MAX_BODY:
        return None
    data: bytes = environ["wsgi.input"].read(length) if length > 0 else b""
    return data


def push_routes(deps: Deps) -> WSGIApp:
    """The WSGI handler for both paths (bot.web routes PATHS here)."""
    tokens_lock = threading.Lock()
    made: list[Any] = []

    def tokens() -> Any:
        # google-auth is the google extra's: imported only where Gmail push is on.
        with tokens_lock:
            if not made:
                from connectors.pubsub_push import PushTokens

                s = deps.settings
                assert s.gmail_push_audience and s.gmail_push_service_account
                made.append(
                    PushTokens(
                        audience=s.gmail_push_audience,
                        service_account=s.gmail_push_service_account,
                        certs_url=s.gmail_push_certs_url,
                    )
                )
            return made[0]

    def gmail(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        from connectors.pubsub_push import CertsUnavailable, PushRejected

        if not deps.settings.gmail_push_receiving():
            return _answer(start_response, "404 Not Found", b"not found")
        try:
            tokens().verify(environ.get("HTTP_AUTHORIZATION", ""))
        except PushRejected as exc:
            log.warning("gmail_push_refused", reason=str(exc)[:200])
            status = "403 Forbidden" if exc.status == 403 else "401 Unauthorized"
            return _answer(start_response, status)
        except CertsUnavailable as exc:
            log.warning("gmail_push_certs_unavailable", error=str(exc)[:200])
            return _answer(start_response, "503 Service Unavailable")
        body = _body(environ)
        if body is None:
            return _answer(start_response, "413 Content Too Large")
        address = _gmail_address(body)
        if address is None:
            log.warning("gmail_push_unreadable")
        else:
            gmail_pushed(deps, address)
        return _answer(start_response, "204 No Content")

    def graph(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        if not deps.settings.graph_push:
            return _answer(start_response, "404 Not Found", b"not found")
        query = parse_qs(environ.get("QUERY_STRING", ""))
        if "validationToken" in query:
            token = query["validationToken"][0]
            if len(token) > MAX_VALIDATION_TOKEN:
                return _answer(start_response, "400 Bad Request")
            start_response(
                "200 OK",
                [
                    ("Content-Type", "text/plain; charset=utf-8"),
                    ("X-Content-Type-Options", "nosniff"),
                ],
            )
            return [token.encode()]
        body = _body(environ)
        if body is None:
            return _answer(start_response, "413 Content Too Large")
        try:
            payload = json.loads(body)
        except ValueError:
            return _answer(start_response, "400 Bad Request")
        notes = payload.get("value") if isinstance(payload, dict) else None
        if isinstance(notes, list):
            graph_notified(deps, notes)
        return _answer(start_response, "202 Accepted")

    def route(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        if environ.get("REQUEST_METHOD") != "POST":
            return _answer(start_response, "405 Method Not Allowed")
        if environ.get("PATH_INFO") == "/webhooks/gmail":
            return gmail(environ, start_response)
        return graph(environ, start_response)

    return route


def _gmail_address(body: bytes) -> str | None:
    """The mailbox a Pub/Sub push names: `message.data` is base64 JSON {emailAddress, historyId}."""
    try:
        envelope = json.loads(body)
        data = envelope["message"]["data"]
        decoded = json.loads(base64.b64decode(data, altchars=b"-_", validate=False))
    except (ValueError, KeyError, TypeError, binascii.Error):
        return None
    address = decoded.get("emailAddress") if isinstance(decoded, dict) else None
    return address if isinstance(address, str) and "@" in address else None
