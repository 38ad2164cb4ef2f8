"""Tables. Every row belongs to an org (the Slack team); every timestamp is aware UTC.

Timestamps are always passed in by the caller (from the one `Clock`), never defaulted here, so
tests and the demo can run on a fixed or fast-forwarded clock.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ColumnElement, Index, Text, UniqueConstraint, cast, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel, col

# JSONB on PostgreSQL (indexable, compact), plain JSON text on SQLite.
JSONType = JSON().with_variant(JSONB(), "postgresql")


def json_field(**kwargs: Any) -> Any:
    return Field(sa_type=JSONType, **kwargs)


def new_id() -> uuid.UUID:
    return uuid.uuid4()


# --- status vocabularies --------------------------------------------------------------------


class RequestStatus(StrEnum):
    initiated = "initiated"
    proposing = "proposing"
    awaiting_response = "awaiting_response"
    negotiating = "negotiating"
    confirming = "confirming"
    confirmed = "confirmed"
    reminder_sent = "reminder_sent"
    completed = "completed"
    no_show = "no_show"
    paused = "paused"
    cancelled = "cancelled"


# A meeting is on the calendar for the request.
BOOKED_STATUSES = frozenset({RequestStatus.confirmed, RequestStatus.reminder_sent})
# Nothing more happens on the request.
FINISHED_STATUSES = frozenset({RequestStatus.completed, RequestStatus.cancelled})
# Convene starts nothing on the request by itself: it is finished, or the rep paused it.
STOPPED_STATUSES = FINISHED_STATUSES | {RequestStatus.paused}
# Times are still being agreed with the prospect.
NEGOTIATING_STATUSES = frozenset(
    {
        RequestStatus.proposing,
        RequestStatus.awaiting_response,
        RequestStatus.negotiating,
        RequestStatus.no_show,
    }
)


class RequestOutcome(StrEnum):
    """How a request ended, precisely enough to count (seed 000's scheduler metrics).

    Every move to `completed` or `cancelled` records one of the ending outcomes, and so does a
    stop rule that pauses the request because Convene gave up on it. While a request is still
    open after a meeting, `no_show` or `rescheduled` says how that meeting went.
    """

    held = "held"  # the meeting happened (the rep answered Held)
    cancelled_by_rep = "cancelled_by_rep"  # the rep closed it on their own account
    cancelled_by_them = "cancelled_by_them"  # the prospect called off the booked meeting
    declined = "declined"  # the prospect said no before anything was booked
    gave_up = "gave_up"  # a stop rule: emails unanswered, too long open, too many no-shows
    no_show = "no_show"  # still open: they missed the last meeting, recovery goes on
    rescheduled = "rescheduled"  # still open: the last meeting is being moved

    @classmethod
    def read(cls, stored: str | None) -> RequestOutcome | None:
        """A stored value in the vocabulary, older spellings included; None if it is none."""
        if stored is None:
            return None
        if stored in LEGACY_OUTCOMES:
            return LEGACY_OUTCOMES[stored]
        return cls(stored) if stored in cls.__members__ else None

    def spellings(self) -> list[str]:
        """Every value a row holding this outcome may store (for SQL filters)."""
        return [self.value, *(old for old, new in LEGACY_OUTCOMES.items() if new is self)]


# Rows written before the vocabulary said only "cancelled": every such cancel was the rep's.
LEGACY_OUTCOMES = {"cancelled": RequestOutcome.cancelled_by_rep}
# The outcomes that end a request: nothing more happens unless the rep resumes it.
ENDING_OUTCOMES = frozenset(
    {
        RequestOutcome.held,
        RequestOutcome.cancelled_by_rep,
        RequestOutcome.cancelled_by_them,
        RequestOutcome.declined,
        RequestOutcome.gave_up,
    }
)


def _listed(statuses: Iterable[str]) -> str:
    return ", ".join(f"'{s}'" for s in sorted(statuses))


# The rows each periodic query of the clock may return, as SQL: the partial index and the query
# use the very same text, so PostgreSQL can prove the index covers the query.
#
# A follow-up can come due: it has a due time and the request is neither finished nor paused
# (a paused request keeps its time for `resume`, outside the index).
DUE_REQUEST_WHERE = f"next_action_at IS NOT NULL AND status NOT IN ({_listed(STOPPED_STATUSES)})"
# A booked meeting whose reminder and check times have not been read yet (new or moved).
UNWATCHED_WHERE = (
    f"status IN ({_listed(BOOKED_STATUSES)}) AND meeting_start IS NOT NULL"
    " AND (watched_start IS NULL OR watched_start <> meeting_start)"
)
# A booked meeting whose pre-meeting brief time has not been read yet (new or moved); kept apart
# from UNWATCHED_WHERE so the brief's timer owns its own columns.
BRIEF_UNWATCHED_WHERE = (
    f"status IN ({_listed(BOOKED_STATUSES)}) AND meeting_start IS NOT NULL"
    " AND (brief_watched_start IS NULL OR brief_watched_start <> meeting_start)"
)
# Under way, with nothing the request's own row says will move it: what the stuck check reads
# further (a live job, an open card). A booked meeting is watched by the clock instead.
UNSCHEDULED_WHERE = (
    f"status NOT IN ({_listed(FINISHED_STATUSES | BOOKED_STATUSES)})"
    " AND (event_next_action IS NULL OR event_next_action <> 'waiting_for_decision')"
    " AND (status = 'paused' OR next_action_at IS NULL OR next_action_type IS NULL"
    " OR next_action_type <> 'follow_up')"
)
# A booked meeting, for the stuck check's look at meetings that ended long ago.
BOOKED_WHERE = f"status IN ({_listed(BOOKED_STATUSES)})"
# A posted card showing another status than its action's (an executing one keeps its buttons).
CARD_LAG_WHERE = (
    "slack_ts IS NOT NULL AND status <> 'executing'"
    " AND (card_status IS NULL OR card_status <> status)"
)
BRIEF_JOB_WHERE = "event_type = 'morning_brief_due'"


class ActionType(StrEnum):
    email_initial = "email_initial"
    email_follow_up = "email_follow_up"
    email_confirmation = "email_confirmation"
    email_reminder = "email_reminder"
    email_response = "email_response"
    email_no_show = "email_no_show"
    # What each side agreed in a meeting, drafted from its transcript.
    email_recap = "email_recap"
    calendar_book = "calendar_book"
    calendar_update = "calendar_update"
    calendar_cancel = "calendar_cancel"


class ActionStatus(StrEnum):
    pending = "pending"
    approved = "approved"
    executing = "executing"
    executed = "executed"
    rejected = "rejected"
    expired = "expired"
    cancelled = "cancelled"
    failed = "failed"
    superseded = "superseded"  # a newer reply from the prospect replaced it before any decision


class JobStatus(StrEnum):
    queued = "queued"
    running = "running"
    waiting_approval = "waiting_approval"
    done = "done"
    failed = "failed"
    cancelled = "cancelled"


# --- people and credentials -----------------------------------------------------------------


# Reps whose mailbox can be watched for push (the clock makes and renews the watches).
WATCHED_MAILBOX_WHERE = "mail_provider IN ('gmail', 'microsoft')"


class Rep(SQLModel, table=True):
    __tablename__ = "reps"
    __table_args__ = (
        UniqueConstraint("org_id", "slack_user_id"),
        # The clock's one query for watches to make or renew reads only watchable mailboxes.
        Index(
            "ix_reps_watch_renew",
            "watch_renew_at",
            postgresql_where=text(WATCHED_MAILBOX_WHERE),
            sqlite_where=text(WATCHED_MAILBOX_WHERE),
        ),
        # A Graph notification names its subscription; that finds the mailbox.
        Index(
            "ix_reps_watch_id",
            "watch_id",
            postgresql_where=text("watch_id IS NOT NULL"),
            sqlite_where=text("watch_id IS NOT NULL"),
        ),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    org_id: str = Field(index=True)
    slack_user_id: str
    email: str
    name: str = ""
    timezone: str = "UTC"
    # {"0": ["09:00", "17:00"], ...} keyed by weekday, Monday = 0, in the rep's zone.
    working_hours: dict[str, list[str]] = json_field(default_factory=dict)
    brief_time: str = "08:00"
    quiet_hours_start: str | None = None
    quiet_hours_end: str | None = None
    daily_send_limit: int = 50
    calendar_provider: str = "local"
    mail_provider: str = "local"
    signature: str = ""
    zoom_link: str = ""  # their personal meeting link, for Zoom meetings without a Zoom app
    delegate_slack_ids: list[str] = json_field(default_factory=list)
    # Where the last inbound-mail poll stopped (opaque, the mail provider's own format).
    mail_cursor: str | None = Field(default=None, sa_type=Text)
    # When the clock next looks at this rep's morning brief (timers.briefs); None until it has
    # worked it out, and again whenever the brief time, zone or quiet hours change.
    next_brief_at: datetime | None = Field(default=None, index=True)
    # Push (orchestrator/inbox/mail_watches.py): the provider's watch on this mailbox, which
    # only ever triggers the same read as polling. A Graph subscription's id and the SHA-256 of
    # its clientState (the secret itself is never stored); when the watch lapses; when the
    # clock makes or renews it next (NULL: as soon as push is configured).
    watch_id: str | None = None
    watch_secret_digest: str | None = None
    watch_expires_at: datetime | None = None
    watch_renew_at: datetime | None = None
    created_at: datetime

    def allows(self, slack_user_id: str) -> bool:
        """Only the rep or a delegate they named may act on their requests and drafts."""
        return slack_user_id == self.slack_user_id or slack_user_id in self.delegate_slack_ids


class Credential(SQLModel, table=True):
    """Provider OAuth tokens; `token_ciphertext` is encrypted at rest and never logged."""

    __tablename__ = "credentials"
    __table_args__ = (UniqueConstraint("org_id", "rep_id", "provider"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    org_id: str = Field(index=True)
    rep_id: uuid.UUID = Field(foreign_key="reps.id")
    provider: str
    token_ciphertext: str
    scopes: list[str] = json_field(default_factory=list)
    expires_at: datetime | None = None
    created_at: datetime
    updated_at: datetime


# --- scheduling -----------------------------------------------------------------------------


class SchedulingRequest(SQLModel, table=True):
    __tablename__ = "scheduling_requests"
    __table_args__ = (
        UniqueConstraint("org_id", "ref"),
        # The clock's periodic queries, each served by a partial index holding only the rows
        # that can come due (timers.due_queries spells the same conditions).
        Index(
            "ix_requests_follow_up_due",
            "next_action_at",
            postgresql_where=text(DUE_REQUEST_WHERE),
            sqlite_where=text(DUE_REQUEST_WHERE),
        ),
        Index(
            "ix_requests_unwatched",
            "meeting_start",
            postgresql_where=text(UNWATCHED_WHERE),
            sqlite_where=text(UNWATCHED_WHERE),
        ),
        Index(
            "ix_requests_reminder_due",
            "reminder_due_at",
            postgresql_where=text("reminder_due_at IS NOT NULL"),
            sqlite_where=text("reminder_due_at IS NOT NULL"),
        ),
        Index(
            "ix_requests_check_due",
            "check_due_at",
            postgresql_where=text("check_due_at IS NOT NULL"),
            sqlite_where=text("check_due_at IS NOT NULL"),
        ),
        Index(
            "ix_requests_stall_check",
            "stall_check_at",
            postgresql_where=text("stall_check_at IS NOT NULL"),
            sqlite_where=text("stall_check_at IS NOT NULL"),
        ),
        Index(
            "ix_requests_brief_unwatched",
            "meeting_start",
            postgresql_where=text(BRIEF_UNWATCHED_WHERE),
            sqlite_where=text(BRIEF_UNWATCHED_WHERE),
        ),
        Index(
            "ix_requests_brief_due",
            "brief_due_at",
            postgresql_where=text("brief_due_at IS NOT NULL"),
            sqlite_where=text("brief_due_at IS NOT NULL"),
        ),
        Index(
            "ix_requests_unscheduled",
            "updated_at",
            postgresql_where=text(UNSCHEDULED_WHERE),
            sqlite_where=text(UNSCHEDULED_WHERE),
        ),
        Index(
            "ix_requests_booked_end",
            "meeting_end",
            postgresql_where=text(BOOKED_WHERE),
            sqlite_where=text(BOOKED_WHERE),
        ),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    org_id: str = Field(index=True)
    rep_id: uuid.UUID = Field(foreign_key="reps.id", index=True)
    ref: str  # short human reference shown in Slack, e.g. ACME-12
    meeting_type: str = "meeting"
    duration_minutes: int = 30
    title: str = ""
    context: str = ""
    platform: str = "google_meet"
    location: str = ""  # a phone or in-person meeting's number or address, from its type
    date_range_start: datetime | None = None
    date_range_end: datetime | None = None
    preferred_times: list[str] = json_field(default_factory=list)
    avoid_days: list[str] = json_field(default_factory=list)
    timezone: str = "UTC"
    status: str = RequestStatus.initiated
    paused_from: str | None = None  # the status `resume` returns to
    attempt_count: int = 0
    no_show_count: int = 0
    next_action_at: datetime | None = None
    next_action_type: str | None = None
    outcome: str | None = None
    email_thread_id: str | None = None
    event_next_action: str | None = None
    event_next_action_subtype: str | None = None
    event_score: int | None = None
    proposed_slots: list[dict[str, Any]] = json_field(default_factory=list)
    meeting_start: datetime | None = None
    meeting_end: datetime | None = None
    calendar_event_id: str | None = None
    # The meeting time the clock last read the reminder and "did it happen?" times from, and
    # those times, each cleared once its event is dispatched: the clock reads only what is due
    # (timers.due), and a booking or a move by any flow is seen as `meeting_start` changing.
    watched_start: datetime | None = None
    reminder_due_at: datetime | None = None
    check_due_at: datetime | None = None
    # When a job left the request with nothing to move it, the moment the rep is asked what
    # happens next (timers.stalled); cleared when that look is taken.
    stall_check_at: datetime | None = None
    # The same for the attendees' pre-meeting brief (timers.pre_meeting): the start it was timed
    # for, and when it is next due (its time, or when a held one's quiet hours end).
    brief_watched_start: datetime | None = None
    brief_due_at: datetime | None = None
    created_at: datetime
    updated_at: datetime


class ReferenceCounter(SQLModel, table=True):
    """The last number given out under a reference prefix in an org: ACME-12 was number 12.

    One row per (org, prefix), bumped in the transaction that inserts the request, so two
    requests started at the same moment can never be handed the same reference."""

    __tablename__ = "reference_counters"

    org_id: str = Field(primary_key=True)
    prefix: str = Field(primary_key=True)
    last_value: int


class SchedulingAttendee(SQLModel, table=True):
    __tablename__ = "scheduling_attendees"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    org_id: str = Field(index=True)
    request_id: uuid.UUID = Field(foreign_key="scheduling_requests.id", index=True)
    side: str  # internal | external
    required: bool = True
    organizer: bool = False
    email: str
    name: str = ""
    timezone: str | None = None
    invite_status: str = "needs_action"
    score: int | None = None
    reason: str | None = None
    next_action: str | None = None
    created_at: datetime


def prospect_zone(request: SchedulingRequest, prospects: Iterable[SchedulingAttendee]) -> str:
    """The zone a prospect's times are read and written in: the first of `prospects` whose zone
    we know, else the request's own. Callers choose the prospects (the sender of a reply, the
    required ones for a meeting, everyone external for the finder)."""
    return next((p.timezone for p in prospects if p.timezone), request.timezone)


class EmailMessage(SQLModel, table=True):
    """Every email in or out. Outbound rows are written before the send (Message-ID first)."""

    __tablename__ = "email_messages"
    __table_args__ = (
        UniqueConstraint("org_id", "message_id"),
        UniqueConstraint("org_id", "direction", "provider_message_id"),
        Index("ix_email_messages_request", "request_id"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    org_id: str = Field(index=True)
    request_id: uuid.UUID | None = Field(default=None, foreign_key="scheduling_requests.id")
    pending_action_id: uuid.UUID | None = Field(default=None, foreign_key="pending_actions.id")
    direction: str  # outbound | inbound
    message_id: str  # RFC 5322 Message-ID, ours for outbound
    in_reply_to: str | None = None
    references: list[str] = json_field(default_factory=list)
    provider_message_id: str | None = None
    thread_id: str | None = Field(default=None, index=True)
    sender: str
    recipients: list[str] = json_field(default_factory=list)
    subject: str = ""
    body_text: str = ""
    status: str = "recorded"  # outbound: sending | sent
    created_at: datetime
    sent_at: datetime | None = None
    # Inbound: the UTC offset of the Date header, in minutes (where the sender's client was).
    date_offset_minutes: int | None = None


class InboundStatus(StrEnum):
    carded = "carded"  # the card waits for the rep
    offered = "offered"  # Offer started `request_id`
    ignored = "ignored"


class InboundRequest(SQLModel, table=True):
    """A new email (not on any of our threads) that asks the rep to meet, and what the rep chose.

    One per inbound message (its row in `email_messages` is the key), so however often the
    mailbox is read, it is carded once. `carded` until the rep presses Offer (`offered`, with
    the request it started) or Ignore (`ignored`)."""

    __tablename__ = "inbound_requests"
    __table_args__ = (
        UniqueConstraint("email_message_id"),
        Index("ix_inbound_requests_rep_status", "rep_id", "status"),
        # Every first email looks up whether its request answers an emailed ask.
        Index("ix_inbound_requests_request", "request_id"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    org_id: str
    rep_id: uuid.UUID = Field(foreign_key="reps.id")
    email_message_id: uuid.UUID = Field(foreign_key="email_messages.id")
    status: str = "carded"  # InboundStatus
    label: str = "meeting"  # demo | call | meeting: what they asked for
    asker: str = ""  # "Dana Reyes (Brightpath)", from the From header
    reason: str = ""  # the words that asked
    request_id: uuid.UUID | None = Field(default=None, foreign_key="scheduling_requests.id")
    decided_by: str | None = None  # the Slack user who pressed Offer or Ignore
    decided_at: datetime | None = None
    created_at: datetime


# A job parked until the rep decides, and the actions that keep it parked: the reconciler
# looks for parked jobs with no open action left through these two partial indexes alone.
PARKED_JOB_WHERE = f"status = '{JobStatus.waiting_approval}'"
OPEN_ACTION_STATUSES = (ActionStatus.pending, ActionStatus.approved, ActionStatus.executing)
OPEN_ACTION_WHERE = f"status IN ({_listed(OPEN_ACTION_STATUSES)})"
# A draft whose card was never posted (held by quiet hours, or its post failed).
UNPOSTED_CARD_WHERE = f"status = '{ActionStatus.pending}' AND slack_ts IS NULL"


class MeetingTranscript(SQLModel, table=True):
    """A meeting's transcript as a recorder posted it or the rep pasted it, for one request.

    Recorders deliver the same transcript more than once; ``source_id`` (the provider's id, or
    one made for a paste) is unique, so a second delivery finds the first row and starts
    nothing."""

    __tablename__ = "meeting_transcripts"
    __table_args__ = (UniqueConstraint("source_id"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    org_id: str
    request_id: uuid.UUID = Field(foreign_key="scheduling_requests.id", index=True)
    source_id: str  # "webhook:<provider id>" or "slack:<view id>"
    format: str = "txt"  # vtt | srt | txt
    text: str = Field(sa_type=Text)
    received_at: datetime


class PendingAction(SQLModel, table=True):
    """The outbox: every email or invite waits here until the rep approves it."""

    __tablename__ = "pending_actions"
    __table_args__ = (
        Index("ix_pending_actions_status", "status", "undo_until"),
        # The clock's expiry sweep: pending rows past their expiry, found without a scan.
        Index("ix_pending_actions_expiry", "status", "expires_at"),
        Index("ix_pending_actions_job", "job_id"),
        Index("ix_pending_actions_request", "request_id"),
        # Cards drawn with an older status than their action's: the reconciler redraws them.
        Index(
            "ix_pending_actions_card_lag",
            "updated_at",
            postgresql_where=text(CARD_LAG_WHERE),
            sqlite_where=text(CARD_LAG_WHERE),
        ),
        Index(
            "ix_pending_actions_open_job",
            "job_id",
            postgresql_where=text(OPEN_ACTION_WHERE),
            sqlite_where=text(OPEN_ACTION_WHERE),
        ),
        Index(
            "ix_pending_actions_unposted",
            "created_at",
            postgresql_where=text(UNPOSTED_CARD_WHERE),
            sqlite_where=text(UNPOSTED_CARD_WHERE),
        ),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    org_id: str = Field(index=True)
    rep_id: uuid.UUID = Field(foreign_key="reps.id", index=True)
    request_id: uuid.UUID | None = Field(default=None, foreign_key="scheduling_requests.id")
    job_id: uuid.UUID | None = Field(default=None, foreign_key="sequence_jobs.id")
    action_type: str
    status: str = ActionStatus.pending
    action_data: dict[str, Any] = json_field(default_factory=dict)
    edited_data: dict[str, Any] | None = json_field(default=None)
    confidence: float | None = None
    reasoning: str = ""
    idempotency_key: str = Field(unique=True)
    expires_at: datetime | None = None
    undo_until: datetime | None = None
    locked_until: datetime | None = None
    # A fresh one per claim: only the holder of the current claim may send or finish.
    claim_token: str | None = None
    attempts: int = 0
    # Bumped by every edit: an Edit modal saves only over the draft it was opened on.
    draft_version: int = 0
    slack_channel: str | None = None
    slack_ts: str | None = None
    # The status the card was last drawn with; the reconciler redraws a card that lags.
    card_status: str | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    executed_at: datetime | None = None
    result: dict[str, Any] | None = json_field(default=None)
    error: str | None = None
    created_at: datetime
    updated_at: datetime

    def effective_data(self) -> dict[str, Any]:
        """What will be sent: the draft with the rep's edits on top."""
        return {**self.action_data, **(self.edited_data or {})}


def draft_was_edited() -> ColumnElement[bool]:
    """SQL for "the rep edited this draft". A draft nobody edited stores JSON `null` in
    `edited_data` (SQLModel writes the None), so `IS NOT NULL` alone would count every one."""
    return func.coalesce(cast(col(PendingAction.edited_data), Text), "null") != "null"


class SequenceJob(SQLModel, table=True):
    """One event's sequence of steps. PostgreSQL holds the truth; Redis only carries wake-ups."""

    __tablename__ = "sequence_jobs"
    __table_args__ = (
        Index("ix_sequence_jobs_runnable", "status", "run_after"),
        Index("ix_sequence_jobs_request", "request_id"),
        # The clock's look for today's briefs, per rep.
        Index(
            "ix_sequence_jobs_briefs",
            "rep_id",
            "created_at",
            postgresql_where=text(BRIEF_JOB_WHERE),
            sqlite_where=text(BRIEF_JOB_WHERE),
        ),
        Index(
            "ix_sequence_jobs_parked",
            "id",
            postgresql_where=text(PARKED_JOB_WHERE),
            sqlite_where=text(PARKED_JOB_WHERE),
        ),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    org_id: str = Field(index=True)
    rep_id: uuid.UUID | None = Field(default=None, foreign_key="reps.id")
    request_id: uuid.UUID | None = Field(default=None, foreign_key="scheduling_requests.id")
    event_type: str
    event_source: str
    trigger_payload: dict[str, Any] = json_field(default_factory=dict)
    parent_job_id: uuid.UUID | None = Field(default=None, foreign_key="sequence_jobs.id")
    idempotency_key: str = Field(unique=True)
    correlation_id: str
    status: str = JobStatus.queued
    current_step: int = 0
    steps_completed: list[str] = json_field(default_factory=list)
    outputs: dict[str, Any] = json_field(default_factory=dict)
    attempts: int = 0
    last_error: str | None = None
    run_after: datetime
    locked_by: str | None = None
    locked_until: datetime | None = None
    created_at: datetime
    updated_at: datetime


class SchedulingAction(SQLModel, table=True):
    """Append-only audit log of what happened to a request and who did it."""

    __tablename__ = "scheduling_actions"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    org_id: str = Field(index=True)
    request_id: uuid.UUID | None = Field(
        default=None, foreign_key="scheduling_requests.id", index=True
    )
    action_type: str
    actor: str  # ai | user | prospect | system
    reasoning: str = ""
    details: dict[str, Any] = json_field(default_factory=dict)
    created_at: datetime


class SchedulingTemplate(SQLModel, table=True):
    __tablename__ = "scheduling_templates"
    __table_args__ = (UniqueConstraint("org_id", "meeting_type"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    org_id: str = Field(index=True)
    meeting_type: str
    duration_minutes: int = 30
    platform: str = "google_meet"
    location: str = ""  # the number or address of a phone or in-person meeting
    follow_up_hours: list[int] = json_field(default_factory=lambda: [24, 48, 72])
    reminder_rule: str = "morning_of"
    max_attempts: int = 5
    email_templates: dict[str, str] = json_field(default_factory=dict)


# --- operations -----------------------------------------------------------------------------


class JobRun(SQLModel, table=True):
    """One run of a periodic job; health checks read the latest per name."""

    __tablename__ = "job_runs"
    __table_args__ = (Index("ix_job_runs_latest", "name", "started_at"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    org_id: str | None = Field(default=None, index=True)  # None = deployment-wide
    name: str = Field(index=True)
    started_at: datetime
    finished_at: datetime | None = None
    counts: dict[str, int] = json_field(default_factory=dict)
    errors: list[str] = json_field(default_factory=list)


class SeenSlackRequest(SQLModel, table=True):
    """A signed Slack request already served, kept past Slack's 5-minute signature window so
    the same bytes sent again (a replay) are refused by every web process."""

    __tablename__ = "seen_slack_requests"

    signature: str = Field(primary_key=True)
    seen_at: datetime = Field(index=True)


# Work a listener acknowledged that has not finished yet: what a web process restarting after
# a crash (or any other web process) picks up and finishes.
UNFINISHED_ACK_WHERE = "done_at IS NULL"


class AckedWork(SQLModel, table=True):
    """A Start or a form Slack was told had been received, kept until the work after the ack
    has finished, so a web process that dies in between loses nothing (`bot.after_ack`)."""

    __tablename__ = "acked_work"
    __table_args__ = (
        Index(
            "ix_acked_work_unfinished",
            "created_at",
            postgresql_where=text(UNFINISHED_ACK_WHERE),
            sqlite_where=text(UNFINISHED_ACK_WHERE),
        ),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    org_id: str
    kind: str  # which listener's work: the key of its replay
    body: dict[str, Any] = json_field()  # the Slack payload the listener was given
    created_at: datetime = Field(index=True)
    claimed_at: datetime | None = None  # when a replay took it, so two never run it at once
    attempts: int = 0  # replays so far
    done_at: datetime | None = None


class LLMUsage(SQLModel, table=True):
    __tablename__ = "llm_usage"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    org_id: str = Field(index=True)
    rep_id: uuid.UUID | None = Field(default=None, foreign_key="reps.id")
    model: str
    purpose: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    created_at: datetime


class SlackNotification(SQLModel, table=True):
    __tablename__ = "slack_notifications"
    # The hourly cap counts a rep's recent DMs.
    __table_args__ = (Index("ix_slack_notifications_rep_sent", "rep_id", "sent_at"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    org_id: str = Field(index=True)
    rep_id: uuid.UUID | None = Field(default=None, foreign_key="reps.id")
    kind: str
    dedupe_key: str = Field(unique=True)
    channel: str
    ts: str | None = None
    sent_at: datetime
    # A notice (not a card) keeps its text so one held back can be posted later.
    text: str | None = Field(default=None, sa_type=Text)
    held_until: datetime | None = Field(default=None, index=True)


# --- embedded providers ---------------------------------------------------------------------


class LocalCalendarEvent(SQLModel, table=True):
    """The embedded calendar: what Google or Microsoft would hold, for demo, sandbox and tests."""

    __tablename__ = "local_calendar_events"
    __table_args__ = (UniqueConstraint("org_id", "calendar", "event_id"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    org_id: str = Field(index=True)
    calendar: str = Field(index=True)  # owner's email
    event_id: str
    title: str = ""
    start: datetime
    end: datetime
    busy: bool = True
    attendees: list[dict[str, Any]] = json_field(default_factory=list)
    description: str = ""
    location: str = ""
    status: str = "confirmed"
    sequence: int = 0


class LocalMailMessage(SQLModel, table=True):
    """The embedded mailbox: one row per message per mailbox folder (sent, inbox)."""

    __tablename__ = "local_mail"
    __table_args__ = (UniqueConstraint("org_id", "mailbox", "folder", "message_id"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    org_id: str = Field(index=True)
    mailbox: str = Field(index=True)
    folder: str  # sent | inbox
    message_id: str
    thread_id: str
    sender: str
    recipients: list[str] = json_field(default_factory=list)
    subject: str = ""
    raw: str
    created_at: datetime


# --- outbound webhooks ----------------------------------------------------------------------


class WebhookSubscription(SQLModel, table=True):
    """A URL a workspace admin registered for request events (a CRM's receiver).

    `secret` signs every delivery; it is shown to the admin once, when the row is created.
    A removed subscription keeps its row, so its delivery log still names it."""

    __tablename__ = "webhook_subscriptions"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    org_id: str = Field(index=True)
    url: str = Field(sa_type=Text)
    events: list[str] = json_field(default_factory=list)
    secret: str
    created_by: str
    created_at: datetime
    removed_at: datetime | None = None


class WebhookStatus(StrEnum):
    pending = "pending"  # waiting for its first attempt, or a retry
    delivering = "delivering"  # one worker holds it until `locked_until`
    delivered = "delivered"
    failed = "failed"  # given up after the last attempt
    cancelled = "cancelled"  # its subscription was removed first


# A delivery still to be made: it holds back the later events of its request.
OPEN_WEBHOOK_WHERE = "status IN ('delivering', 'pending')"


class WebhookDelivery(SQLModel, table=True):
    """The webhook outbox: one row per (subscription, event), written in the transaction that
    changed the request, delivered afterwards by a worker.

    `seq` orders the events of one request as they were recorded; `delivery_id` is derived
    from the subscription and the event, so recording the same event twice is one row."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        # Per subscription and request, the open deliveries in order: the head is the only
        # one that may go, and the clock finds the heads that are due through this index.
        Index(
            "ix_webhook_deliveries_open",
            "subscription_id",
            "request_id",
            "seq",
            postgresql_where=text(OPEN_WEBHOOK_WHERE),
            sqlite_where=text(OPEN_WEBHOOK_WHERE),
        ),
        Index("ix_webhook_deliveries_org", "org_id", "updated_at"),
    )

    seq: int | None = Field(default=None, primary_key=True)
    delivery_id: str = Field(unique=True)
    org_id: str
    subscription_id: uuid.UUID = Field(foreign_key="webhook_subscriptions.id")
    request_id: uuid.UUID = Field(foreign_key="scheduling_requests.id")
    event_type: str
    # The body as sent, fixed when the event happened (later changes to the request belong to
    # later events).
    payload: dict[str, Any] = json_field(default_factory=dict)
    status: str = WebhookStatus.pending
    attempts: int = 0
    next_attempt_at: datetime
    locked_until: datetime | None = None
    claim_token: str | None = None
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, sa_type=Text)
    delivered_at: datetime | None = None
    created_at: datetime
    updated_at: datetime
