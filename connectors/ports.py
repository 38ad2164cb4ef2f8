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


class CalendarPort(Protocol):
    def free_busy(
        self, *, emails: Sequence[str], start: datetime, end: datetime
    ) -> Mapping[str, Sequence[Interval]]:
        """Busy intervals per email between ``start`` and ``end``."""
        ...

    def create_event(self, event: CalendarEvent) -> str:
        """Create the event (or return the existing one with the same ``event_id``)."""
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


# --- chat (Slack) -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PostedMessage:
    channel: str
    ts: str


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
