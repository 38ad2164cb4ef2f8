"""A Gmail stand-in speaking the REST wire format google-api-python-client uses.

It keeps a mailbox (messages with labels, threads, a history log), decodes every raw MIME send
so tests can assert on the real headers, and can be told to fail the way Gmail fails.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from tests.fakes.http import FakeHTTP, Request, Response

BASE = "/gmail/v1/users/me"


@dataclass
class StoredMessage:
    id: str
    thread_id: str
    labels: set[str]
    raw: bytes
    history_id: int
    parsed: EmailMessage = field(init=False)

    def __post_init__(self) -> None:
        self.parsed = BytesParser(policy=policy.default).parsebytes(self.raw)  # type: ignore[assignment]

    @property
    def message_id(self) -> str:
        return str(self.parsed.get("Message-ID", "")).strip()


def google_error(status: int, message: str, reason: str, state: str) -> Response:
    return Response(
        status,
        {
            "error": {
                "code": status,
                "message": message,
                "errors": [{"message": message, "domain": "global", "reason": reason}],
                "status": state,
            }
        },
    )


NOT_FOUND = google_error(404, "Requested entity was not found.", "notFound", "NOT_FOUND")
UNAUTHENTICATED = google_error(
    401, "Request had invalid authentication credentials.", "authError", "UNAUTHENTICATED"
)
FORBIDDEN = google_error(
    403,
    "Request had insufficient authentication scopes.",
    "insufficientPermissions",
    "PERMISSION_DENIED",
)
UNAVAILABLE = google_error(
    503, "The service is currently unavailable.", "backendError", "UNAVAILABLE"
)


def rate_limited(retry_after: int) -> Response:
    resp = google_error(
        429, "Too many concurrent requests for user.", "rateLimitExceeded", "RESOURCE_EXHAUSTED"
    )
    resp.headers["Retry-After"] = str(retry_after)
    return resp


class FakeGmail:
    def __init__(self, address: str = "sam@convene.example") -> None:
        self.address = address
        self.http = FakeHTTP()
        self.url = self.http.url
        self.messages: dict[str, StoredMessage] = {}
        self.history_id = 1000
        self.oldest_history = 1000  # cursors older than this get Gmail's 404
        self.page_size = 2  # small pages so paging is exercised
        self.send_delay = 0.0  # store the send, then answer this late (client timeout)
        self.failures: dict[tuple[str, str], list[Response]] = {}
        self.token_error: Response | None = None
        self.tokens_issued = 0
        # users.watch: the topics asked for, and when Gmail says the watch lapses.
        self.watches: list[dict[str, object]] = []
        self.watch_expiration = datetime(2026, 12, 14, tzinfo=UTC)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        for method, prefix, fn in (
            ("POST", "/token", self._token),
            ("POST", f"{BASE}/messages/send", self._send),
            ("GET", f"{BASE}/messages/", self._get),
            ("GET", f"{BASE}/messages", self._list),
            ("GET", f"{BASE}/history", self._history),
            ("GET", f"{BASE}/profile", self._profile),
            ("POST", f"{BASE}/watch", self._watch),
        ):
            self.http.route(method, prefix, self._failing(method, prefix, fn))

    # --- test controls --------------------------------------------------------------------------

    def fail_next(self, method: str, prefix: str, *responses: Response) -> None:
        """The next requests to ``(method, prefix)`` get these responses instead."""
        self.failures.setdefault((method, f"{BASE}{prefix}"), []).extend(responses)

    def deliver(self, raw: bytes, *, thread_id: str | None = None) -> StoredMessage:
        """A message arriving in the rep's inbox (threads by In-Reply-To like Gmail)."""
        with self._lock:
            return self._store(raw, {"INBOX", "UNREAD"}, thread_id)

    def sent(self) -> list[StoredMessage]:
        return [m for m in self.messages.values() if "SENT" in m.labels]

    def close(self) -> None:
        self.http.close()

    # --- handlers ---------------------------------------------------------------------------------

    def _failing(self, method: str, prefix: str, fn):  # type: ignore[no-untyped-def]
        def handler(req: Request) -> Response:
            queue = self.failures.get((method, prefix))
            if queue:
                return queue.pop(0)
            return fn(req)

        return handler

    def _token(self, req: Request) -> Response:
        if self.token_error is not None:
            return self.token_error
        self.tokens_issued += 1
        token = f"ya29.fresh-{self.tokens_issued}"
        return Response(200, {"access_token": token, "expires_in": 3600, "token_type": "Bearer"})

    def _store(self, raw: bytes, labels: set[str], thread_id: str | None) -> StoredMessage:
        self.history_id += 1
        message_id = f"m{next(self._ids):04d}"
        parsed = BytesParser(policy=policy.default).parsebytes(raw)
        if thread_id is None:
            parent = str(parsed.get("In-Reply-To", "")).strip()
            owner = next((m for m in self.messages.values() if m.message_id == parent), None)
            thread_id = owner.thread_id if owner else f"t{message_id[1:]}"
        stored = StoredMessage(message_id, thread_id, labels, raw, self.history_id)
        self.messages[message_id] = stored
        return stored

    def _send(self, req: Request) -> Response:
        raw_b64 = req.body.get("raw", "")
        raw = base64.urlsafe_b64decode(raw_b64 + "=" * (-len(raw_b64) % 4))
        parsed = BytesParser(policy=policy.default).parsebytes(raw)
        if not parsed.get("To") or not parsed.get("From"):
            return google_error(400, "Invalid To header", "invalidArgument", "INVALID_ARGUMENT")
        thread_id = req.body.get("threadId")
        with self._lock:
            if thread_id is not None and not any(
                m.thread_id == thread_id for m in self.messages.values()
            ):
                return NOT_FOUND
            stored = self._store(raw, {"SENT"}, thread_id)
        body = {"id": stored.id, "threadId": stored.thread_id, "labelIds": ["SENT"]}
        return Response(200, body, delay=self.send_delay)

    def _watch(self, req: Request) -> Response:
        body = req.body or {}
        if not str(body.get("topicName", "")).startswith("projects/"):
            return google_error(400, "Invalid topicName", "invalidArgument", "INVALID_ARGUMENT")
        self.watches.append(body)
        expiration = int(self.watch_expiration.timestamp() * 1000)
        return Response(200, {"historyId": str(self.history_id), "expiration": str(expiration)})

    def pubsub_message(self, *, address: str | None = None) -> dict[str, object]:
        """The body a Pub/Sub push subscription posts for this mailbox's latest change."""
        data = {"emailAddress": address or self.address, "historyId": self.history_id}
        encoded = base64.b64encode(json.dumps(data).encode()).decode()
        return {
            "message": {
                "data": encoded,
                "messageId": f"{self.history_id}-pubsub",
                "publishTime": "2026-12-07T18:00:00Z",
            },
            "subscription": "projects/convene-test/subscriptions/gmail-push",
        }

    def _get(self, req: Request) -> Response:
        message_id = req.path.rsplit("/", 1)[-1]
        stored = self.messages.get(message_id)
        if stored is None:
            return NOT_FOUND
        body: dict[str, object] = {
            "id": stored.id,
            "threadId": stored.thread_id,
            "labelIds": sorted(stored.labels),
            "historyId": str(stored.history_id),
        }
        if req.query.get("format") == ["raw"]:
            body["raw"] = base64.urlsafe_b64encode(stored.raw).decode()
        return Response(200, body)

    def _list(self, req: Request) -> Response:
        q = req.query.get("q", [""])[0]
        labels = set(req.query.get("labelIds", []))
        found = [m for m in self.messages.values() if labels <= m.labels]
        msgid = re.search(r"rfc822msgid:(\S+)", q)
        if msgid:
            found = [m for m in found if m.message_id.strip("<>") == msgid.group(1).strip("<>")]
        if "in:inbox" in q:
            found = [m for m in found if "INBOX" in m.labels]
        found.sort(key=lambda m: m.history_id, reverse=True)
        rows = [{"id": m.id, "threadId": m.thread_id} for m in found]
        return Response(
            200,
            {"messages": rows, "resultSizeEstimate": len(rows)}
            if rows
            else {"resultSizeEstimate": 0},
        )

    def _history(self, req: Request) -> Response:
        start = int(req.query["startHistoryId"][0])
        if start < self.oldest_history:
            return NOT_FOUND
        label = req.query.get("labelId", [None])[0]
        added = [
            m
            for m in sorted(self.messages.values(), key=lambda m: m.history_id)
            if m.history_id > start and (label is None or label in m.labels)
        ]
        offset = int(req.query.get("pageToken", ["0"])[0])
        page = added[offset : offset + self.page_size]
        body: dict[str, object] = {"historyId": str(self.history_id)}
        if page:
            body["history"] = [
                {
                    "id": str(m.history_id),
                    "messages": [{"id": m.id, "threadId": m.thread_id}],
                    "messagesAdded": [
                        {
                            "message": {
                                "id": m.id,
                                "threadId": m.thread_id,
                                "labelIds": sorted(m.labels),
                            }
                        }
                    ],
                }
                for m in page
            ]
        if offset + self.page_size < len(added):
            body["nextPageToken"] = str(offset + self.page_size)
        return Response(200, body)

    def _profile(self, req: Request) -> Response:
        return Response(
            200,
            {
                "emailAddress": self.address,
                "messagesTotal": len(self.messages),
                "historyId": str(self.history_id),
            },
        )
