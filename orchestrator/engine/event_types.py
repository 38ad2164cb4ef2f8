"""Every event the orchestrator runs a sequence for, and the payload each one carries.

`EventType` is a StrEnum so the stored `event_type` column keeps its plain strings. A payload
is written to `trigger_payload` by `Shape.to_json` and read back, validated, by `payload()`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TypeVar

from db.models import SequenceJob
from orchestrator.engine.shapes import Shape, ShapeError, optional_key


class EventType(StrEnum):
    scheduling_requested = "scheduling_requested"
    # The rep rejected the first email with a note, or asked for fresh times on a stale draft.
    redraft_requested = "redraft_requested"
    email_received = "email_received"
    decision_made = "decision_made"
    recipient_confirmed = "recipient_confirmed"
    recipient_declined = "recipient_declined"
    # The rep added someone the prospect copied to a booked meeting (commands.copied_guests).
    copied_added = "copied_added"
    follow_up_due = "follow_up_due"
    morning_brief_due = "morning_brief_due"
    reminder_due = "reminder_due"
    meeting_ended = "meeting_ended"
    meeting_recovery = "meeting_recovery"
    calendar_find_times = "calendar_find_times"
    calendar_times_chosen = "calendar_times_chosen"
    # A meeting's transcript arrived (a recorder's webhook or a paste in Slack).
    transcript_received = "transcript_received"
    # One of our commitments read from a transcript falls due: the rep gets a DM that morning.
    commitment_due = "commitment_due"


@dataclass(frozen=True)
class RequestStarted(Shape):
    ref: str


@dataclass(frozen=True)
class RedraftRequested(Shape):
    """Either the rep's rejection note (`note`, `rules`) or why the draft went stale."""

    note: str | None = optional_key()
    rules: str | None = optional_key()
    stale: str | None = optional_key()


def redraft_key(draft_id: uuid.UUID) -> str:
    """One redraft per draft, ever: a rejection's note and the card's Redraft button share it."""
    return f"redraft:{draft_id}"


@dataclass(frozen=True)
class EmailReceived(Shape):
    email_message_id: str
    matched_by: str


@dataclass(frozen=True)
class DecisionMade(Shape):
    choice: str
    slot: datetime | None
    email_message_id: str | None


@dataclass(frozen=True)
class RecipientDecided(Shape):
    email_message_id: str
    address: str
    name: str
    decided_by: str


@dataclass(frozen=True)
class FollowUpDue(Shape):
    due_at: datetime


@dataclass(frozen=True)
class BriefDue(Shape):
    day: str


@dataclass(frozen=True)
class ReminderDue(Shape):
    meeting_start: datetime
    due_at: datetime


@dataclass(frozen=True)
class MeetingEnded(Shape):
    meeting_start: datetime


@dataclass(frozen=True)
class MeetingRecovery(Shape):
    reason: str
    meeting_start: datetime


@dataclass(frozen=True)
class TimesChosen(Shape):
    choice: str
    options: tuple[int, ...]
    by: str | None = None


@dataclass(frozen=True)
class TranscriptReceived(Shape):
    transcript_id: str


@dataclass(frozen=True)
class CommitmentDue(Shape):
    due_at: datetime
    evidence: str


PAYLOADS: dict[EventType, type[Shape]] = {
    EventType.scheduling_requested: RequestStarted,
    EventType.redraft_requested: RedraftRequested,
    EventType.email_received: EmailReceived,
    EventType.decision_made: DecisionMade,
    EventType.recipient_confirmed: RecipientDecided,
    EventType.recipient_declined: RecipientDecided,
    EventType.copied_added: RecipientDecided,
    EventType.follow_up_due: FollowUpDue,
    EventType.morning_brief_due: BriefDue,
    EventType.reminder_due: ReminderDue,
    EventType.meeting_ended: MeetingEnded,
    EventType.meeting_recovery: MeetingRecovery,
    EventType.calendar_find_times: RequestStarted,
    EventType.calendar_times_chosen: TimesChosen,
    EventType.transcript_received: TranscriptReceived,
    EventType.commitment_due: CommitmentDue,
}

P = TypeVar("P", bound=Shape)


def trigger(job: SequenceJob) -> Shape:
    """The job's trigger payload as its event type declares; `ShapeError` when it does not fit."""
    try:
        declared = PAYLOADS[EventType(job.event_type)]
    except ValueError:
        raise ShapeError(f"job {job.id}: unknown event type {job.event_type!r}") from None
    try:
        return declared.from_json(job.trigger_payload)
    except ShapeError as exc:
        raise ShapeError(f"job {job.id}: {job.event_type} payload: {exc}") from None


def payload(job: SequenceJob, shape: type[P]) -> P:
    """The job's trigger payload, which its event type says is a `shape`."""
    data = trigger(job)
    if not isinstance(data, shape):
        raise ShapeError(f"job {job.id}: a {job.event_type} payload is not a {shape.__name__}")
    return data


def reply_id(job: SequenceJob) -> uuid.UUID | None:
    """The prospect's email a job answers, for the events that carry one."""
    data = trigger(job)
    if not isinstance(data, EmailReceived | DecisionMade | RecipientDecided):
        raise ShapeError(f"job {job.id}: a {job.event_type} is about no reply")
    return uuid.UUID(data.email_message_id) if data.email_message_id else None
