"""What the cards show: the view models the bot's Block Kit builders draw, and their constants.

Pure (dataclasses and constants only), so bot/ can draw a card without importing the engine
or the steps that fill these in, and the engine can hand views to `Cards` without importing
bot/: neither layer imports the other through this module.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from orchestrator.engine.event_types import EventType
from skills.compose_brief import Brief
from skills.compose_pre_meeting import PreMeetingBrief

if TYPE_CHECKING:
    # The Home tab's rows are read off these; only their fields are used, never the database.
    from db.models import SchedulingAction, SchedulingRequest

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
    # The times read from the rep's edit of a draft that offers times (None: not edited so).
    offered_as_edited: tuple[datetime, ...] | None = None


# What each kind of pending action is called wherever a draft is named (cards, the brief).
ACTION_TITLES = {
    "email_initial": "First scheduling email",
    "email_follow_up": "Follow-up email",
    "email_confirmation": "Confirmation email",
    "email_reminder": "Reminder email",
    "email_response": "Reply email",
    "email_no_show": "No-show recovery email",
    "email_recap": "Meeting recap email",
    "calendar_book": "Calendar invite",
    "calendar_update": "Calendar move",
    "calendar_cancel": "Calendar cancellation",
}


# --- decision cards (commands.decision_cards, outbox.recipients) --------------------------

LABELS = {
    "offer_times": "Offer fresh times",
    "book_slot": "Book the selected time",
    "clarify": "Ask them to clarify",
    "keep_open": "Keep it open",
    "handle_myself": "I'll handle this",
    "cancel_request": "Cancel the request",
    "reopen": "Reopen",
    "book_accepted": "Book with those who accepted",
    "drop_decliner": "Go on without who declined",
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


# --- the confirm card and the schedule modal (commands.new_request) ------------------------

# How a new request starts: draft the first email at once, or show the rep a time picker first.
START_EVENTS = (EventType.scheduling_requested, EventType.calendar_find_times)


@dataclass(frozen=True)
class RepProfile:
    """What Slack tells us about a person on our side (users.info)."""

    slack_user_id: str
    email: str
    name: str
    timezone: str


@dataclass(frozen=True)
class Guest:
    """Someone on the prospect's side."""

    email: str
    name: str = ""
    required: bool = True


@dataclass(frozen=True)
class ScheduleCommand:
    """A validated request to schedule, however it was entered (slash command, modal, API)."""

    meeting_type: str
    emails: tuple[str, ...]
    duration_minutes: int = 30
    window_start: datetime | None = None
    window_end: datetime | None = None
    context: str = ""
    guests: tuple[Guest, ...] = ()  # names and optional flags; `emails` alone means required
    teammates: tuple[RepProfile, ...] = ()  # our side besides the rep
    preferred_times: tuple[str, ...] = ()
    avoid_days: tuple[str, ...] = ()
    platform: str = "google_meet"
    location: str = ""  # the number or address of a phone or in-person meeting
    # Where the prospect is ("in London"), when the rep said; else their zone stays unknown.
    prospect_timezone: str | None = None

    def external(self) -> tuple[Guest, ...]:
        named = {g.email: g for g in self.guests}
        return tuple(named.get(email, Guest(email)) for email in self.emails)


# --- the Home tab (commands.dashboard) ------------------------------------------------------


@dataclass(frozen=True)
class LastAction:
    """The latest audit row of a request: its kind, when, and the draft type it concerned."""

    kind: str
    at: datetime
    draft_type: str | None = None

    @classmethod
    def of(cls, row: SchedulingAction) -> LastAction:
        draft = row.details.get("type") if isinstance(row.details, dict) else None
        return cls(kind=row.action_type, at=row.created_at, draft_type=draft and str(draft))


@dataclass(frozen=True)
class Row:
    ref: str
    title: str
    status: str
    next_action: str | None
    next_action_at: datetime | None
    meeting_start: datetime | None
    last: LastAction | None = None
    drafts_waiting: int = 0

    @classmethod
    def of(
        cls, request: SchedulingRequest, *, last: LastAction | None = None, drafts_waiting: int = 0
    ) -> Row:
        return cls(
            ref=request.ref,
            title=request.title,
            status=request.status,
            next_action=request.next_action_type,
            next_action_at=request.next_action_at,
            meeting_start=request.meeting_start,
            last=last,
            drafts_waiting=drafts_waiting,
        )


# --- scheduler figures (orchestrator.commands.stats) ---------------------------------------------


def _ratio(part: float, whole: float) -> float | None:
    """None when there is nothing to count: shown as "—", never as 0%."""
    return part / whole if whole else None


@dataclass(frozen=True)
class Figures:
    """Seed 000's scheduler metrics for the requests started in a period (one rep's or the
    team's), and what has become of them so far. Counts are of requests unless said otherwise;
    `orchestrator.commands.stats.figures` says exactly how each is read from the database."""

    started: int = 0
    booked: int = 0  # a meeting was put on the calendar at least once
    held: int = 0
    finished: int = 0  # ended one way or another (`db.models.ENDING_OUTCOMES`)
    cancelled_by_rep: int = 0
    cancelled_by_them: int = 0
    declined: int = 0
    gave_up: int = 0
    emails_before_booking: int = 0  # over the booked requests, up to each first booking
    days_to_book: tuple[float, ...] = ()  # per booked request: created → first booking
    no_shows: int = 0  # meetings they missed
    meetings_ended: int = 0  # meetings whose end came and the rep said how it went
    approved: int = 0  # drafts the rep approved (emails and invites)
    edited: int = 0  # of those, edited before the approval

    @property
    def success_rate(self) -> float | None:
        return _ratio(self.held, self.finished)

    @property
    def attempts_per_booking(self) -> float | None:
        return _ratio(self.emails_before_booking, self.booked)

    @property
    def mean_days_to_book(self) -> float | None:
        return _ratio(sum(self.days_to_book), len(self.days_to_book))

    @property
    def median_days_to_book(self) -> float | None:
        return statistics.median(self.days_to_book) if self.days_to_book else None

    @property
    def no_show_rate(self) -> float | None:
        return _ratio(self.no_shows, self.meetings_ended)

    @property
    def edit_rate(self) -> float | None:
        return _ratio(self.edited, self.approved)


@dataclass(frozen=True)
class SchedulerStats:
    """The rep's figures beside the team's (everyone in the Slack workspace), same period."""

    days: int  # the period: the requests started in the last `days` days
    you: Figures
    team: Figures


@dataclass(frozen=True)
class Dashboard:
    timezone: str
    pending_confirmation: list[Row] = field(default_factory=list)
    upcoming: list[Row] = field(default_factory=list)
    needs_attention: list[Row] = field(default_factory=list)
    completed_this_week: list[Row] = field(default_factory=list)
    drafts_waiting: int = 0
    known: bool = True  # False when this Slack user has never used Convene
    stats: SchedulerStats | None = None


# --- a hint of the prospect's zone (orchestrator.steps.replies.tell_rep) --------------------------


@dataclass(frozen=True)
class ZoneHintView:
    """A reply suggests where its writer is: shown under the rep's DM with one click to use it.
    Nothing is read in the suggested zone until the rep clicks."""

    request_id: str
    attendee_id: str
    who: str  # their name or address, untrusted: the builder escapes it
    zone: str  # an IANA name
    evidence: str  # why, in words
    current: str  # the zone their words are read in until then
    weak: bool  # only the Date header's offset


@dataclass(frozen=True)
class CopiedView:
    """Someone the prospect copied on a reply, offered to the rep as a guest (orchestrator.copied).
    The button names the reply and the address's position in it, never the address."""

    request_id: str
    email_message_id: str
    index: int
    address: str  # untrusted: the builder escapes it


def zone_label(zone: str) -> str:
    """A zone as the rep reads it: "Asia/Tokyo", and "UTC+09:00" for a bare offset
    (POSIX's Etc/GMT-9 means UTC+09:00, the sign turned round)."""
    if zone.startswith("Etc/GMT") and zone[len("Etc/GMT") :][:1] in ("+", "-"):
        sign, hours = zone[len("Etc/GMT")], int(zone[len("Etc/GMT") + 1 :])
        return f"UTC{'-' if sign == '+' else '+'}{hours:02d}:00"
    return zone


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
    pre_meeting: Callable[[PreMeetingBrief], Card]
    # The message with a hint appended (a text-only message becomes a section first).
    with_zone_hint: Callable[[Card, ZoneHintView], Card]
    with_copied: Callable[[Card, Sequence[CopiedView]], Card]


def when_for_rep(moment: datetime, tz: str) -> str:
    """A moment as the rep reads it: "Tue Dec 8, 9:00 AM EST" in their zone."""
    local = moment.astimezone(ZoneInfo(tz))
    hour = local.hour % 12 or 12
    return f"{local:%a %b} {local.day}, {hour}:{local:%M} {local:%p} {local.tzname()}"
