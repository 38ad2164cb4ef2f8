"""A meeting's transcript arrives (a recorder's webhook, or the rep's paste in Slack): find its
request, keep the text once, and start the `transcript_received` sequence once.

The row and the job are written in one transaction, both keyed on the transcript's source id, so
a recorder delivering twice, or a crash between the two writes, still makes one job.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal

from sqlmodel import Session, col, select

from db.models import MeetingTranscript, SchedulingRequest
from db.upsert import insert_or_ignore
from orchestrator.deps import Deps
from orchestrator.engine.dispatch import insert_job
from orchestrator.engine.event_types import EventType, TranscriptReceived
from orchestrator.engine.events import Event
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
    deps.wakeups.run_step(job.id, tag="0-0")
    return Received("started", transcript.id, job.id)
