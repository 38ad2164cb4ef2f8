"""The ports: what the orchestrator and skills need from the outside world.

Each port is a ``typing.Protocol``. Every port has a real adapter (Slack, Google, Microsoft,
litellm), an embedded one (database-backed calendar and mailbox, offline rules) and a local HTTP
fake in the tests. The value types here are plain frozen dataclasses so that ``skills/`` can use
them without importing any SDK.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel


class Clock(Protocol):
    """The one source of time. Production reads the system clock; tests pass a fixed one."""

    def now(self) -> datetime:
        """Timezone-aware UTC now."""
        ...


# --- calendar ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Interval:
    start: datetime
    end: datetime


@dataclass(frozen=True)
class EventAttendee:
    email: str
    name: str = ""
    optional: bool = False


@dataclass(frozen=True)
class CalendarEvent:
    """An event to create. We choose ``event_id``, so a retried create is idempotent."""

    event_id: str
    organizer: str
    title: str
    start: datetime
    end: datetime
    attendees: Sequence[EventAttendee] = ()
    description: str = ""
    location: str = ""
    # "google_meet" | "teams" | None: the provider creates the meeting room and its link.
    conference: str | None = None


@dataclass(frozen=True)
class CreatedEvent:
    """What a create returns: our id back, and the join link when a conference was made
    (``None`` if none was asked for or the provider is still creating it)."""

    event_id: str
    join_url: str | None = None


# Attendee responses, one vocabulary for every provider.
RESPONSES = ("accepted", "declined", "tentative", "needs_action")


class CalendarPort(Protocol):
    # True when the provider emails the attendees their invitations, updates and cancellations
    # itself (Google, Microsoft); False when it only keeps the calendar (the embedded one), so
    # the outbox sends the iCalendar invitations from the rep's mailbox instead.
    sends_invites: bool

    def free_busy(
        self, *, emails: Sequence[str], start: datetime, end: datetime
    ) -> Mapping[str, Sequence[Interval]]:
        """Busy intervals per email between ``start`` and ``end``."""
        ...

    def create_event(self, event: CalendarEvent) -> CreatedEvent:
        """Create the event (or return the existing one with the same ``event_id``)."""
        ...

    def update_event(self, event: CalendarEvent) -> None:
        """Reschedule or edit the event with ``event.event_id``: same event, attendees notified."""
        ...

    def cancel_event(self, *, organizer: str, event_id: str) -> None:
        """Cancel and notify attendees; cancelling an event that is already gone is a no-op."""
        ...

    def attendee_responses(self, *, organizer: str, event_id: str) -> Mapping[str, str]:
        """Lower-cased attendee email -> one of :data:`RESPONSES`."""
        ...


# --- mail -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OutboundEmail:
    """An email to send as the rep; ``message_id`` (RFC 5322) is ours, recorded before sending."""

    message_id: str
    sender: str
    to: Sequence[str]
    subject: str
    body: str
    cc: Sequence[str] = ()
    in_reply_to: str | None = None
    references: Sequence[str] = ()
    thread_id: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    # Optional richer content; plain ``body`` alone stays a single text/plain message.
    html: str | None = None
    # An RFC 5545 calendar (SMTP providers only; Google/Microsoft invite natively) and its
    # METHOD, which must equal the MIME ``method=`` parameter or Outlook rejects it.
    ics: bytes | None = None
    ics_method: str = "REQUEST"


@dataclass(frozen=True)
class SentEmail:
    message_id: str
    provider_id: str
    thread_id: str


class MailPort(Protocol):
    def send(self, email: OutboundEmail) -> SentEmail:
        """Send the email from the rep's mailbox."""
        ...

    def find_sent(self, *, sender: str, message_id: str) -> SentEmail | None:
        """Look ``message_id`` up in the sender's Sent folder (used before any resend)."""
        ...


@dataclass(frozen=True)
class InboundRaw:
    """One received message exactly as the provider stores it (RFC 5322 bytes)."""

    provider_id: str
    thread_id: str
    raw: bytes


@dataclass(frozen=True)
class InboundBatch:
    """New inbound messages since a cursor, and the cursor to pass next time."""

    messages: Sequence[InboundRaw]
    cursor: str


class MailReader(Protocol):
    def fetch_new(self, cursor: str | None) -> InboundBatch:
        """Messages received since ``cursor``; ``None`` starts from now (nothing returned).

        Delivery is at-least-once: callers de-duplicate on ``provider_id``.
        """
        ...


# --- chat (Slack) -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PostedMessage:
    channel: str
    ts: str


@dataclass(frozen=True)
class VideoRoom:
    """A video meeting made for one booking: the provider's id and the link attendees join by."""

    room_id: str
    join_url: str


class VideoRoomsPort(Protocol):
    """Meetings made per booking on a service the calendars cannot create rooms on (Zoom)."""

    def create_room(self, *, host: str, topic: str, start: datetime, minutes: int) -> VideoRoom:
        """Make a room, or return the one already made for this host, topic and start (a retry
        after a lost answer must not leave a second room behind)."""
        ...

    def move_room(self, *, room_id: str, start: datetime, minutes: int) -> None: ...

    def delete_room(self, *, room_id: str) -> None:
        """Remove it; one already gone is done."""
        ...


class ChatPort(Protocol):
    def post_message(
        self, *, channel: str, text: str, blocks: Sequence[Mapping[str, Any]] = ()
    ) -> PostedMessage: ...

    def update_message(
        self, *, channel: str, ts: str, text: str, blocks: Sequence[Mapping[str, Any]] = ()
    ) -> None: ...

    def open_dm(self, *, user_id: str) -> str:
        """The DM channel id for a Slack user."""
        ...


# --- language model ---------------------------------------------------------------------------

SchemaT = TypeVar("SchemaT", bound=BaseModel)


@dataclass(frozen=True)
class LLMReply:
    """A schema-validated answer plus what it cost."""

    data: BaseModel
    model: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float


class LLMError(Exception):
    """The model could not be asked or answered outside the schema; callers escalate."""


class LLMPort(Protocol):
    def complete(
        self, *, system: str, user: str, schema: type[BaseModel], purpose: str
    ) -> LLMReply:
        """Ask for an answer that validates against ``schema`` or raise :class:`LLMError`.

        ``user`` carries untrusted text (prospect emails) as data; ``purpose`` labels the usage row.
        """
        ...


# --- outbound webhooks ------------------------------------------------------------------------


@dataclass(frozen=True)
class WebhookResponse:
    """What a receiver answered: its status and at most the first few KB of its body."""

    status: int
    body: bytes = b""


class WebhookPort(Protocol):
    def post(self, *, url: str, body: bytes, headers: Mapping[str, str]) -> WebhookResponse:
        """POST ``body`` to ``url`` (https only), never following a redirect; raise
        ``TransientError`` when no answer came in time (refused, reset, timed out)."""
        ...
