"""POST /webhooks/transcript: a meeting recorder hands over a transcript.

The request must carry ``Convene-Signature: t=<unix seconds>,v1=<hex>``, the HMAC-SHA256 of
``t + "." + body`` under ``TRANSCRIPT_WEBHOOK_SECRET`` (the format Convene signs its own
webhooks with, `orchestrator.webhooks.signing`), inside a 5-minute window. The same signed
bytes are answered 409 once they were kept (the seen-request store every web process shares),
and the provider's transcript id makes a re-delivery signed afresh a no-op (200), so neither
starts anything twice. The body is read in
chunks up to 2 MB and refused past it (413) without reading the rest into memory.

Body: ``{"id": "...", "meeting": {"request": "ACME-12"} or {"calendar_event_id": "..."},
"transcript": "...", "format": "vtt" | "srt" | "txt"}``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

import structlog

from bot.replays import SeenRequests
from orchestrator.commands.transcripts import MeetingRef, receive_transcript
from orchestrator.deps import Deps
from orchestrator.settings import reveal

log = structlog.get_logger(__name__)

StartResponse = Callable[..., Any]

PATH = "/webhooks/transcript"
MAX_BODY = 2 * 1024 * 1024
WINDOW_SECONDS = 300
MAX_ID_CHARS = 200
CHUNK = 64 * 1024
DRAIN_LIMIT = 4 * MAX_BODY


def verify(secret: str, header: str | None, body: bytes, *, now: float) -> str | None:
    """The signature's digest when ``header`` signs ``body`` with ``secret`` inside the window."""
    if not secret or not header:
        return None
    fields: dict[str, str] = {}
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        fields.setdefault(key, value)
    try:
        timestamp = int(fields.get("t", ""))
    except ValueError:
        return None
    if abs(now - timestamp) > WINDOW_SECONDS:
        return None
    expected = hmac.new(
        secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    given = fields.get("v1", "")
    return expected if hmac.compare_digest(expected, given) else None


def read_capped(environ: dict[str, Any]) -> bytes | None:
    """The body, or None when it is (or claims to be) over the cap."""
    try:
        declared = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    stream = environ["wsgi.input"]
    if declared > MAX_BODY:
        # Read (and drop) what is sent up to a limit, so the sender reads our 413 rather than
        # a reset connection; past the limit the connection is simply closed.
        left = min(declared, DRAIN_LIMIT)
        while left > 0 and (chunk := stream.read(min(CHUNK, left))):
            left -= len(chunk)
        return None
    chunks: list[bytes] = []
    size = 0
    left = declared
    while left > 0:
        chunk = stream.read(min(CHUNK, left))
        if not chunk:
            break
        left -= len(chunk)
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _answer(start_response: StartResponse, status: str, body: dict[str, Any]) -> list[bytes]:
    start_response(status, [("Content-Type", "application/json")])
    return [json.dumps(body).encode()]


def _meeting(parsed: dict[str, Any]) -> MeetingRef | None:
    meeting = parsed.get("meeting")
    if not isinstance(meeting, dict):
        return None
    ref = meeting.get("request") or meeting.get("ref")
    event_id = meeting.get("calendar_event_id")
    if isinstance(ref, str) and 0 < len(ref) <= 40:
        return MeetingRef(ref=ref)
    if isinstance(event_id, str) and 0 < len(event_id) <= 1024:
        return MeetingRef(calendar_event_id=event_id)
    return None


def transcript_webhook(deps: Deps, seen: SeenRequests) -> Callable[..., Iterable[bytes]]:
    def serve(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        secret = reveal(deps.settings.transcript_webhook_secret) or ""
        if not secret:
            return _answer(start_response, "404 Not Found", {"error": "not configured"})
        if environ.get("REQUEST_METHOD") != "POST":
            return _answer(start_response, "405 Method Not Allowed", {"error": "POST only"})
        body = read_capped(environ)
        if body is None:
            return _answer(start_response, "413 Payload Too Large", {"error": "too large"})
        # The window is judged on the wall clock, as the sender's is.
        wall = time.time()
        digest = verify(secret, environ.get("HTTP_CONVENE_SIGNATURE"), body, now=wall)
        if digest is None:
            return _answer(start_response, "401 Unauthorized", {"error": "invalid signature"})
        try:
            parsed = json.loads(body)
        except (ValueError, RecursionError):
            parsed = None
        if not isinstance(parsed, dict):
            return _answer(start_response, "400 Bad Request", {"error": "body is not an object"})
        provider_id, text = parsed.get("id"), parsed.get("transcript")
        meeting = _meeting(parsed)
        fmt = parsed.get("format")
        if (
            not isinstance(provider_id, str)
            or not 0 < len(provider_id) <= MAX_ID_CHARS
            or not isinstance(text, str)
            or meeting is None
        ):
            return _answer(start_response, "400 Bad Request", {"error": "id, meeting, transcript"})
        received = receive_transcript(
            deps,
            source_id=f"webhook:{provider_id}",
            meeting=meeting,
            text=text,
            fmt=fmt if isinstance(fmt, str) else None,
        )
        if received.outcome == "no_request":
            return _answer(start_response, "404 Not Found", {"error": "no such meeting"})
        # Marked seen only once kept: a crash before this line leaves the sender's retry of the
        # same bytes to be served (the transcript id makes it a no-op if the first got through).
        try:
            first = seen.first_time(f"transcript:{digest}", now=datetime.fromtimestamp(wall, UTC))
        except Exception as exc:  # noqa: BLE001 - kept already; the answer says so
            log.warning("seen_requests_unavailable", error=repr(exc))
            first = True
        if not first:
            log.warning("transcript_replay_refused")
            return _answer(start_response, "409 Conflict", {"error": "already received"})
        status = "202 Accepted" if received.outcome == "started" else "200 OK"
        return _answer(
            start_response,
            status,
            {"status": received.outcome, "transcript": str(received.transcript_id)},
        )

    return serve
