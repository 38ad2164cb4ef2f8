"""A meeting's transcript arrives (a recorder's webhook, or the rep's paste in Slack): find its
request, keep the text once, and start the `transcript_received` sequence once.

The row and the job are written in one transaction, both keyed on the transcript's source id, so
a recorder delivering twice, or a crash between the two writes, still makes one job.

A plan to meet again read from it becomes a card (`orchestrator.steps.transcripts`); its form
opens with the request's own external attendees (`planned_meeting`) and its submit starts a new
request once per card (`start_planned`), with the addresses the rep left in the form.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal

from sqlmodel import Session, col, select

from db.models import MeetingTranscript, Rep, SchedulingAttendee, SchedulingRequest
from db.upsert import insert_or_ignore
from orchestrator.commands.new_request import start_scheduling
from orchestrator.deps import Deps
from orchestrator.engine.crashpoints import crashpoint
from orchestrator.engine.dispatch import insert_job
from orchestrator.engine.event_types import EventType, TranscriptReceived
from orchestrator.engine.events import Event
from orchestrator.mrkdwn import escape_mrkdwn, owner_only
from orchestrator.views import RepProfile, ScheduleCommand
from skills.transcript_text import FORMATS, MAX_TRANSCRIPT_CHARS

Outcome = Literal["started", "duplicate", "no_request"]


@dataclass(frozen=True)
class MeetingRef:
    """How the sender names the meeting: our reference (``ACME-12``) or the calendar event id."""

    ref: str | None = None
    calendar_event_id: str | None = None
    org_id: str | None = None  # known for a paste in Slack; a webhook spans the deployment


@dataclass(frozen=True)
class Received:
    outcome: Outcome
    transcript_id: uuid.UUID | None = None
    job_id: uuid.UUID | None = None


def find_request(session: Session, meeting: MeetingRef) -> SchedulingRequest | None:
    """The one request the meeting names; None when it names none, or more than one."""
    query = select(SchedulingRequest)
    if meeting.ref:
        query = query.where(col(SchedulingRequest.ref) == meeting.ref.strip().upper())
    elif meeting.calendar_event_id:
        query = query.where(col(SchedulingRequest.calendar_event_id) == meeting.calendar_event_id)
    else:
        return None
    if meeting.org_id is not None:
        query = query.where(col(SchedulingRequest.org_id) == meeting.org_id)
    found = session.exec(query.limit(2)).all()
    return found[0] if len(found) == 1 else None


def receive_transcript(
    deps: Deps, *, source_id: str, meeting: MeetingRef, text: str, fmt: str | None
) -> Received:
    now = deps.clock.now()
    fmt = fmt if fmt in FORMATS else "txt"
    with deps.uow() as uow:
        session = uow.session
        request = find_request(session, meeting)
        if request is None:
            return Received("no_request")
        created = insert_or_ignore(
            session,
            model=MeetingTranscript,
            values={
                "id": uuid.uuid4(),
                "org_id": request.org_id,
                "request_id": request.id,
                "source_id": source_id,
                "format": fmt,
                "text": text[:MAX_TRANSCRIPT_CHARS],
                "received_at": now,
            },
        )
        transcript = session.exec(
            select(MeetingTranscript).where(MeetingTranscript.source_id == source_id)
        ).one()
        if not created:
            return Received("duplicate", transcript.id)
        job, _ = insert_job(
            session,
            Event(
                type=EventType.transcript_received,
                org_id=request.org_id,
                idempotency_key=f"transcript:{transcript.id}",
                source="transcript",
                rep_id=request.rep_id,
                request_id=request.id,
                payload=TranscriptReceived(transcript_id=str(transcript.id)),
            ),
            now=now,
        )
        uow.commit()
    crashpoint("transcript.kept")
    deps.wakeups.run_step(job.id, tag="0-0")
    return Received("started", transcript.id, job.id)


@dataclass(frozen=True)
class Planned:
    """The form a "Set it up" card opens: the request's kind and external attendees."""

    command: ScheduleCommand
    tz: str
    rep: Rep


def _card_value(value: str) -> tuple[uuid.UUID, int] | None:
    transcript, _, index = value.partition(":")
    try:
        return uuid.UUID(transcript), int(index)
    except ValueError:
        return None


def planned_meeting(deps: Deps, value: str) -> Planned | None:
    parsed = _card_value(value)
    if parsed is None:
        return None
    with deps.uow() as uow:
        transcript = uow.session.get(MeetingTranscript, parsed[0])
        if transcript is None:
            return None
        request = uow.session.get_one(SchedulingRequest, transcript.request_id)
        rep = uow.session.get_one(Rep, request.rep_id)
        external = uow.session.exec(
            select(SchedulingAttendee.email).where(
                SchedulingAttendee.request_id == request.id, SchedulingAttendee.side == "external"
            )
        ).all()
    command = ScheduleCommand(
        meeting_type=request.meeting_type,
        emails=tuple(external),
        duration_minutes=request.duration_minutes,
    )
    return Planned(command, rep.timezone, rep)


def start_planned(
    deps: Deps, *, value: str, slack_user_id: str, command: ScheduleCommand
) -> tuple[bool, str]:
    """The form's submit: a new request, once per card however often it is submitted."""
    planned = planned_meeting(deps, value)
    if planned is None:
        return False, "That meeting is no longer on record."
    rep = planned.rep
    if not rep.allows(slack_user_id):
        return False, owner_only(rep.slack_user_id)
    profile = RepProfile(rep.slack_user_id, rep.email, rep.name or rep.email, rep.timezone)
    started = start_scheduling(
        deps,
        org_id=rep.org_id,
        profile=profile,
        command=command,
        idempotency_key=f"transcript_meeting:{value}",
    )
    return True, (
        f"Started *{escape_mrkdwn(started.ref)}*: the first email waits for your approval."
    )


def paste_allowed(deps: Deps, *, org_id: str, ref: str, slack_user_id: str) -> str | None:
    """Why this Slack user may not paste a transcript for `ref`, or None when they may."""
    with deps.uow() as uow:
        request = find_request(uow.session, MeetingRef(ref=ref, org_id=org_id))
        if request is None:
            return f"I can't find `{escape_mrkdwn(ref)}`. `/schedule list` shows yours."
        rep = uow.session.get_one(Rep, request.rep_id)
    return None if rep.allows(slack_user_id) else owner_only(rep.slack_user_id)
