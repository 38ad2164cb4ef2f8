"""What a request to /slack/events must pass before Bolt reads it: a size cap, a body that
decodes and has the shape Slack sends, a valid signature, and not having been served before.

Bolt parses the body before it checks the signature, and a body it cannot parse becomes a 500;
here every such request gets a 4xx instead, and nothing downstream ever sees it.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

import structlog
from slack_sdk.signature import SignatureVerifier

from bot.replays import SeenRequests

log = structlog.get_logger(__name__)

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

MAX_BODY = 1024 * 1024
# A body over the cap is still read (and dropped) up to this, so the client reads our 413
# instead of a connection reset; beyond it the connection is simply closed.
DRAIN_LIMIT = 8 * MAX_BODY
# What every payload of these types carries; a listener would fail on it otherwise.
PAYLOAD_FIELDS = {
    "block_actions": ("actions",),
    "view_submission": ("view",),
    "view_closed": ("view",),
}
COMMAND_FIELDS = ("command", "user_id", "team_id", "trigger_id")


def _answer(start_response: StartResponse, status: str, error: str) -> list[bytes]:
    if not error:
        start_response(status, [("Content-Type", "text/plain")])
        return [b""]
    start_response(status, [("Content-Type", "application/json")])
    return [json.dumps({"error": error}).encode()]


def _has_user(payload: dict[str, Any]) -> bool:
    user = payload.get("user")
    return isinstance(user, dict) and isinstance(user.get("id"), str)


def _payload_ok(raw: str) -> bool:
    try:
        payload = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: JSON nested thousands deep
        return False
    if not isinstance(payload, dict) or not isinstance(payload.get("type"), str):
        return False
    needed = PAYLOAD_FIELDS.get(payload["type"], ())
    return _has_user(payload) and all(payload.get(field) for field in needed)


def well_formed(text: str, content_type: str) -> bool:
    """Whether `text` parses the way Bolt will read it (JSON for events, a form otherwise)."""
    if content_type.startswith("application/json") or text.startswith("{"):
        try:
            event = json.loads(text)
        except (ValueError, RecursionError):
            return False
        return isinstance(event, dict) and isinstance(event.get("type"), str)
    try:
        form = parse_qs(text, keep_blank_values=True, strict_parsing=True, errors="strict")
    except ValueError:  # UnicodeDecodeError included: a %-escape that is not UTF-8
        return False
    if "payload" in form:
        return len(form["payload"]) == 1 and _payload_ok(form["payload"][0])
    return all(form.get(field, [""])[0] for field in COMMAND_FIELDS)


def _content_length(environ: dict[str, Any]) -> int | None:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    return length if length >= 0 else None


def _drain(stream: Any, length: int) -> None:
    left = min(length, DRAIN_LIMIT)
    while left > 0 and (chunk := stream.read(min(left, 65536))):
        left -= len(chunk)


def _signed(verifier: SignatureVerifier, body: str, environ: dict[str, Any]) -> str | None:
    """The request's signature when it is valid and fresh, else None."""
    signature = environ.get("HTTP_X_SLACK_SIGNATURE")
    timestamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP")
    try:
        valid = verifier.is_valid(body=body, timestamp=timestamp, signature=signature)
    except ValueError:  # a timestamp that is not a number
        return None
    return signature if valid else None


def slack_gate(slack: WSGIApp, *, signing_secret: str, seen: SeenRequests) -> WSGIApp:
    """`slack` behind the checks above; what passes reaches it with its body intact."""
    verifier = SignatureVerifier(signing_secret)

    def gate(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        length = _content_length(environ)
        if length is None:
            return _answer(start_response, "400 Bad Request", "bad content length")
        if length > MAX_BODY:
            _drain(environ["wsgi.input"], length)
            return _answer(start_response, "413 Payload Too Large", "request too large")
        raw = environ["wsgi.input"].read(length)
        try:
            body = raw.decode("utf-8")
        except UnicodeDecodeError:
            return _answer(start_response, "400 Bad Request", "body is not UTF-8")
        signature = _signed(verifier, body, environ)
        if signature is None:
            return _answer(start_response, "401 Unauthorized", "invalid request")
        if not well_formed(body, environ.get("CONTENT_TYPE") or ""):
            return _answer(start_response, "400 Bad Request", "malformed request")
        try:
            # Slack judges freshness on the wall clock, so the store's ages are wall-clock too.
            first = seen.first_time(signature, now=datetime.fromtimestamp(time.time(), UTC))
        except Exception as exc:  # noqa: BLE001 - unsure it is new, so not served
            log.warning("seen_requests_unavailable", error=repr(exc))
            return _answer(start_response, "503 Service Unavailable", "try again")
        if not first:
            # Only a copy of a request already served has this signature. 200 and nothing
            # done: a proxy resending what we answered gets "done", which is true, and a
            # replayer learns nothing.
            log.warning("slack_replay_refused")
            return _answer(start_response, "200 OK", "")
        environ["wsgi.input"] = io.BytesIO(raw)
        return slack(environ, start_response)

    return gate
