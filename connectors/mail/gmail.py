"""Gmail as the rep's mailbox, through google-api-python-client.

We send our own RFC 5322 bytes (``users.messages.send`` with ``raw``), so the Message-ID,
In-Reply-To and References are exactly the ones recorded before sending; ``threadId`` keeps the
reply in the rep's conversation. A send whose outcome is unknown is reconciled with
``rfc822msgid:`` in Sent. Inbound mail is read incrementally with the history API.

Nothing connects at construction: the discovery document ships in the wheel
(``static_discovery``) and the service is built on first use. Every request has a socket
timeout and ``num_retries=0`` — retrying is the orchestrator's decision, with backoff.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from google.auth.credentials import Credentials

from connectors.errors import PermanentError
from connectors.google_runtime import execute, google_service
from connectors.mail.mime import message_bytes
from connectors.ports import Clock, InboundBatch, InboundRaw, OutboundEmail, SentEmail

DEFAULT_TIMEOUT = 30.0
# After a history gap (cursor older than Gmail keeps, ~a week) we re-read this much of the
# inbox; duplicates are harmless because intake de-duplicates on the provider message id.
RESYNC_QUERY = "in:inbox newer_than:8d"


class GmailNotFound(PermanentError):
    """404 from Gmail: unknown message/thread id, or a history cursor too old to use."""


class GmailMailbox:
    """One rep's Gmail mailbox. Implements ``MailPort`` and ``MailReader``."""

    def __init__(
        self,
        credentials: Credentials,
        *,
        clock: Clock,
        api_endpoint: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        user_id: str = "me",
        on_refresh: Callable[[Credentials], None] | None = None,
    ) -> None:
        """``api_endpoint`` replaces Gmail's root URL (tests: the fake's base URL with a
        trailing slash — Gmail's paths already start with ``gmail/v1/``). ``on_refresh`` is
        told when google-auth refreshed the access token, so the new one can be stored."""
        self._credentials = credentials
        self._on_refresh = on_refresh
        self._clock = clock
        self._endpoint = api_endpoint
        self._timeout = timeout
        self._user = user_id
        self._service: Any = None

    # --- MailPort -----------------------------------------------------------------------------

    def send(self, email: OutboundEmail) -> SentEmail:
        raw = message_bytes(email, date=self._clock.now())
        body: dict[str, Any] = {"raw": base64.urlsafe_b64encode(raw).decode("ascii")}
        if email.thread_id:
            body["threadId"] = email.thread_id
        result = self._call(
            lambda g: g.users().messages().send(userId=self._user, body=body), what="send"
        )
        return SentEmail(
            message_id=email.message_id, provider_id=result["id"], thread_id=result["threadId"]
        )

    def find_sent(self, *, sender: str, message_id: str) -> SentEmail | None:
        # includeSpamTrash: a sent message the rep already deleted was still sent.
        result = self._call(
            lambda g: (
                g.users()
                .messages()
                .list(
                    userId=self._user,
                    q=f"rfc822msgid:{message_id.strip().strip('<>')}",
                    labelIds=["SENT"],
                    includeSpamTrash=True,
                    maxResults=5,
                )
            ),
            what="find_sent",
        )
        found = result.get("messages") or []
        if not found:
            return None
        return SentEmail(
            message_id=message_id, provider_id=found[0]["id"], thread_id=found[0]["threadId"]
        )

    # --- MailReader ---------------------------------------------------------------------------

    def fetch_new(self, cursor: str | None) -> InboundBatch:
        if cursor is None:
            return InboundBatch(messages=[], cursor=self._history_id())
        try:
            ids, new_cursor = self._history_since(cursor)
        except GmailNotFound:
            # The cursor expired. Take the new cursor *before* listing so nothing that arrives
            # in between is skipped, then re-read the recent inbox.
            new_cursor = self._history_id()
            ids = list(self._recent_inbox_ids())
        messages = [m for m in (self._raw_message(i) for i in ids) if m is not None]
        return InboundBatch(messages=messages, cursor=new_cursor)

    # --- push -------------------------------------------------------------------------------

    def watch(self, topic: str) -> datetime:
        """Ask Gmail to publish this inbox's changes to the Pub/Sub ``topic``; returns when the
        watch lapses (about a week). Calling it again renews the same watch."""
        body = {"topicName": topic, "labelIds": ["INBOX"], "labelFilterBehavior": "include"}
        result = self._call(lambda g: g.users().watch(userId=self._user, body=body), what="watch")
        return datetime.fromtimestamp(int(result["expiration"]) / 1000, tz=UTC)

    # --- internals ----------------------------------------------------------------------------

    def _history_id(self) -> str:
        profile = self._call(lambda g: g.users().getProfile(userId=self._user), what="profile")
        return str(profile["historyId"])

    def _history_since(self, cursor: str) -> tuple[list[str], str]:
        ids: list[str] = []
        latest = cursor
        token: str | None = None
        while True:
            page = self._call(
                lambda g, t=token: (
                    g.users()  # type: ignore[misc]
                    .history()
                    .list(
                        userId=self._user,
                        startHistoryId=cursor,
                        historyTypes=["messageAdded"],
                        labelId="INBOX",
                        pageToken=t,
                    )
                ),
                what="history",
            )
            for record in page.get("history", []):
                for added in record.get("messagesAdded", []):
                    message_id = added["message"]["id"]
                    if message_id not in ids:
                        ids.append(message_id)
            latest = str(page.get("historyId", latest))
            token = page.get("nextPageToken")
            if not token:
                return ids, latest

    def _recent_inbox_ids(self) -> Iterator[str]:
        token: str | None = None
        while True:
            page = self._call(
                lambda g, t=token: (
                    g.users()  # type: ignore[misc]
                    .messages()
                    .list(userId=self._user, q=RESYNC_QUERY, pageToken=t)
                ),
                what="resync",
            )
            for message in page.get("messages", []):
                yield message["id"]
            token = page.get("nextPageToken")
            if not token:
                return

    def _raw_message(self, message_id: str) -> InboundRaw | None:
        try:
            message = self._call(
                lambda g: g.users().messages().get(userId=self._user, id=message_id, format="raw"),
                what="get",
            )
        except GmailNotFound:
            return None  # deleted between the history record and now: nothing to read
        labels = set(message.get("labelIds", []))
        if labels & {"SENT", "DRAFT"}:
            return None  # the rep's own mail (e.g. a copy to self) is not a reply
        return InboundRaw(
            provider_id=message["id"],
            thread_id=message["threadId"],
            raw=base64.urlsafe_b64decode(message["raw"] + "=" * (-len(message["raw"]) % 4)),
        )

    def _call(self, make: Callable[[Any], Any], *, what: str) -> dict[str, Any]:
        if self._service is None:
            self._service = google_service(
                "gmail", "v1", self._credentials, timeout=self._timeout, endpoint=self._endpoint
            )
        on_refresh, credentials = self._on_refresh, self._credentials

        def refreshed() -> None:
            if on_refresh is not None:
                on_refresh(credentials)

        # A send that timed out may still have been applied: sends are reconciled with
        # find_sent before any retry.
        result: dict[str, Any] = execute(
            make(self._service),
            credentials=self._credentials,
            label="gmail",
            what=what,
            clock=self._clock,
            refreshed=refreshed,
            not_found=GmailNotFound,
        )
        return result
