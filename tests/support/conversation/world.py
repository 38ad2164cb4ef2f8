"""Who takes part in a conversation, and the World: what the script has seen so far, and how it
reads the running stack."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email import message_from_string, policy
from email.message import EmailMessage as MimeMessage
from typing import Any

from sqlmodel import col

from bot.local_slack import Message
from db.models import (
    LocalCalendarEvent,
    PendingAction,
    SchedulingAction,
    SchedulingRequest,
)
from tests.support.stack import OTHER_ID, REP_ID, USERS, Stack, wait_for

# --- who takes part ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    slack_id: str
    email: str
    name: str
    tz: str


def _slack_person(slack_id: str) -> Person:
    user = USERS[slack_id]
    profile: dict[str, str] = user["profile"]  # type: ignore[assignment]
    return Person(slack_id, profile["email"], profile["real_name"], str(user["tz"]))


RITA = _slack_person(REP_ID)  # the rep in New York
OTTO = _slack_person(OTHER_ID)  # a rep (or Rita's teammate) in Berlin

PROSPECT = "john@acme.example"
PROSPECT_NAME = "John Doe"


# --- what the script has seen --------------------------------------------------------------------


@dataclass(frozen=True)
class Busy:
    """An event the script put on someone's calendar (not one Convene booked)."""

    owner: str
    start: datetime
    end: datetime
    event_id: str


@dataclass
class World:
    stack: Stack
    rep: Person
    zones: dict[str, str] = field(default_factory=dict)  # prospect address -> IANA zone
    busy: list[Busy] = field(default_factory=list)
    offers: list[tuple[datetime, ...]] = field(default_factory=list)  # per email, oldest first
    replies: list[MimeMessage] = field(default_factory=list)  # theirs, oldest first
    cursor_before_reply: str | None = None
    replies_since_cursor: int = 0  # how many replies a rewind to `cursor_before_reply` re-reads
    dms_read: int = 0
    kept_cards: dict[str, Message] = field(default_factory=dict)  # kind -> card as once shown
    counted: set[Any] = field(default_factory=set)  # executed drafts whose offers are counted

    # --- reading the stack ---

    def request(self) -> SchedulingRequest:
        (request,) = self.stack.rows(SchedulingRequest)
        return request

    def actions(self, kind: str | None = None) -> list[PendingAction]:
        where = [col(PendingAction.action_type) == kind] if kind else []
        return sorted(self.stack.rows(PendingAction, *where), key=lambda a: a.created_at)

    def action(self, action_id: Any) -> PendingAction:
        (action,) = self.stack.rows(PendingAction, col(PendingAction.id) == action_id)
        return action

    def audit(self) -> list[SchedulingAction]:
        return sorted(self.stack.rows(SchedulingAction), key=lambda a: a.created_at)

    def mail_to(self, address: str) -> list[MimeMessage]:
        """The emails `address` received from the rep, without calendar invitations (those
        come with every booking on the embedded calendar; tests/test_ics_invites.py checks
        them)."""
        return [
            message
            for message in (_parse(m.raw) for m in self.stack.inbox(address))
            if not any(part.get_content_type() == "text/calendar" for part in message.walk())
        ]

    def zone_hints(self) -> list[Message]:
        """Messages to the rep that offer a prospect's zone with a button, as now shown."""
        channel = f"D{self.rep.slack_id}"
        return [
            m
            for m in self.stack.slack.messages
            if m.channel == channel and "use_prospect_zone" in str(m.blocks)
        ]

    def copied_hints(self) -> list[Message]:
        """Messages to the rep offering people a reply copied, as now shown."""
        channel = f"D{self.rep.slack_id}"
        return [
            m
            for m in self.stack.slack.messages
            if m.channel == channel and "add_copied_guest" in str(m.blocks)
        ]

    def dms(self) -> list[str]:
        """Plain-text DMs to the rep, oldest first (cards carry blocks; these are notices)."""
        channel = f"D{self.rep.slack_id}"
        # A reply's summary stays a notice when a zone hint is added under it.
        return [
            m.text
            for m in self.stack.slack.messages
            if m.channel == channel
            and (not m.blocks or any(h in str(m.blocks) for h in ("zone_hint", "copied_hint")))
        ]

    def card_of(self, kind: str) -> tuple[PendingAction, Message]:
        """The newest undecided draft of `kind` and its card as the rep's client shows it."""

        def posted() -> tuple[PendingAction, Message] | None:
            drafts = [a for a in self.actions(kind) if a.slack_ts and a.status == "pending"]
            if not drafts:
                return None
            cards = [c for c in self.stack.cards() if c.ts == drafts[-1].slack_ts]
            return (drafts[-1], cards[0]) if cards else None

        found: tuple[PendingAction, Message] = wait_for(posted, f"a pending {kind} card")
        return found

    def decision_cards(self) -> list[Message]:
        return [
            c
            for c in self.stack.cards()
            if any(
                str(e.get("action_id", "")).startswith("decision_")
                for b in c.blocks
                for e in b.get("elements", [])
            )
        ]

    def booked(self) -> list[LocalCalendarEvent]:
        """What Convene put on the rep's calendar."""
        ours = {b.event_id for b in self.busy}
        events = self.stack.rows(
            LocalCalendarEvent, col(LocalCalendarEvent.calendar) == self.rep.email
        )
        return [e for e in events if e.event_id not in ours]

    def zone_of(self, address: str) -> str:
        """Where the script put this person; everyone else shares the request's zone."""
        return self.zones.get(address, self.request().timezone)

    # --- what the clock process does ---

    def clock_runs(self) -> None:
        """One pass of the clock process (re-wake lost work, start what is due, read new
        mail), then the worker runs everything that started."""
        self.stack.tick()

    def wait_out_the_undo_window(self) -> None:
        self.stack.clock.advance(timedelta(seconds=self.stack.deps.settings.undo_seconds))
        self.clock_runs()


# --- reading mail --------------------------------------------------------------------------------


def _parse(raw: str) -> MimeMessage:
    message = message_from_string(raw, policy=policy.default)
    assert isinstance(message, MimeMessage)
    return message


def plain_text(message: MimeMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None, "no text/plain part"
    # Mail travels with CRLF line ends; the script writes "\n".
    return str(part.get_content()).replace("\r\n", "\n")


def bare_subject(subject: str) -> str:
    return re.sub(r"^(?:\s*re\s*:\s*)+", "", subject, flags=re.IGNORECASE)
