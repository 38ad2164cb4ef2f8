"""What the cards show: the view models the bot's Block Kit builders draw, and their constants.

Pure (dataclasses and constants only), so bot/ can draw a card without importing the engine
or the steps that fill these in, and the engine can hand views to `Cards` without importing
bot/: neither layer imports the other through this module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from skills.compose_brief import Brief

Card = tuple[str, list[dict[str, Any]]]  # fallback text, Block Kit blocks


# --- approval cards (orchestrator.outbox.approval_cards) ---------------------------------


@dataclass(frozen=True)
class ActionView:
    """Everything an approval card shows, read from the database in one place."""

    action_id: str
    action_type: str
    status: str
    to: tuple[str, ...]
    subject: str
    body: str
    reasoning: str
    confidence: float | None
    request_ref: str
    request_title: str
    rep_timezone: str
    undo_until: datetime | None
    decided_by: str | None
    executed_at: datetime | None
    error: str | None
    cc: tuple[str, ...] = ()
    # The draft's edit count: the Edit modal carries it, so it saves only over what it showed.
    draft_version: int = 0
    # "Redraft with fresh times" fits this draft once it is stale or expired; or it was used.
    can_redraft: bool = False
    redrafted: bool = False


# --- decision cards (commands.decision_cards, outbox.recipients) --------------------------

LABELS = {
    "offer_times": "Offer fresh times",
    "book_slot": "Book the selected time",
    "clarify": "Ask them to clarify",
    "keep_open": "Keep it open",
    "handle_myself": "I'll handle this",
    "cancel_request": "Cancel the request",
}
RECIPIENT_LABELS = {"add_recipient": "Add them and draft a note", "ignore_recipient": "Don't add"}


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].strip().lower()


@dataclass(frozen=True)
class Proposal:
    """Someone a reply asks us to bring in, waiting for the rep to confirm them."""

    address: str
    name: str
    job_id: str  # the reply's `email_received` job: the card's buttons name it, not the address
    prospect_domains: tuple[str, ...]

    @property
    def domain(self) -> str:
        return domain_of(self.address)

    @property
    def outside(self) -> bool:
        """Not at the domain of anyone already on their side: the card warns."""
        return self.domain not in self.prospect_domains


@dataclass(frozen=True)
class Option:
    slot: datetime
    attendees: tuple[str, ...]
    fits_all: bool


@dataclass(frozen=True)
class DecisionView:
    """Everything a decision card shows."""

    request_id: str
    ref: str
    title: str
    subtype: str
    summary: str
    reasons: tuple[str, ...]
    options: tuple[Option, ...]
    choices: tuple[str, ...]
    rep_timezone: str
    reply: str  # the rep's reply summary, already escaped mrkdwn
    recipient: Proposal | None = None  # someone the reply names, to confirm before adding


# --- the time picker (orchestrator.steps.find_times) --------------------------------------------

PAGE_SIZE = 4  # what fits a glance, as in seed 002's mock


@dataclass(frozen=True)
class PickerOption:
    index: int  # position in the job's stored options: buttons carry this, never a time
    start: datetime
    end: datetime


@dataclass(frozen=True)
class PickerView:
    """Everything the picker card shows, read from the database in one place."""

    job_id: str
    ref: str
    meeting_type: str
    duration_minutes: int
    prospect: str
    rep_timezone: str
    prospect_timezone: str
    options: tuple[PickerOption, ...]
    page: int = 0
    channel: str | None = None
    ts: str | None = None
    choice: str | None = None  # set once the rep chose; the card is then final
    chosen: tuple[int, ...] = ()
    decided_by: str | None = None

    def page_options(self, page: int) -> tuple[PickerOption, ...]:
        return self.options[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]

    def shown(self) -> tuple[PickerOption, ...]:
        if self.choice is not None:
            return tuple(o for o in self.options if o.index in self.chosen)
        return self.page_options(self.page)

    def has_more(self) -> bool:
        return (self.page + 1) * PAGE_SIZE < len(self.options)


# --- after the meeting (orchestrator.steps.meeting) ---------------------------------------------


def start_token(start: datetime) -> str:
    """One meeting time as a key part: a moved meeting gets new keys, so new work."""
    return str(int(start.timestamp()))


@dataclass(frozen=True)
class MeetingCheck:
    """What the Held · No-show · Rescheduled card shows, and how it was answered."""

    request_id: str
    ref: str
    title: str
    prospect: str
    start: datetime
    end: datetime
    rep_timezone: str
    answer: str | None = None  # held | no_show | rescheduled
    answered_by: str | None = None

    @property
    def value(self) -> str:
        """What each button carries: the request and the meeting time it asks about."""
        return f"{self.request_id}|{start_token(self.start)}"


# --- the builders -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cards:
    """The Block Kit builders (pure functions in bot/), handed to the orchestrator by the
    composition root so that the worker posts cards without importing the Slack layer."""

    approval: Callable[[ActionView], Card]
    brief: Callable[[Brief], Card]
    decision: Callable[[DecisionView], Card]
    picker: Callable[[PickerView], Card]
    meeting: Callable[[MeetingCheck], Card]
