"""Turning a rep's `/schedule` into a request, its attendees and its sequence job, atomically."""

from __future__ import annotations

import random
import re
import time
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, col, select

from db.audit import record_action
from db.models import (
    InboundRequest,
    InboundStatus,
    ReferenceCounter,
    Rep,
    SchedulingAttendee,
    SchedulingRequest,
    SequenceJob,
)
from db.upsert import increment, insert_or_ignore
from orchestrator.deps import Deps
from orchestrator.engine.dispatch import insert_job
from orchestrator.engine.event_types import EventType, RequestStarted, payload
from orchestrator.engine.events import Event
from orchestrator.views import START_EVENTS, RepProfile, ScheduleCommand

# A transaction that meets another writer is rolled back and run again: a deadlock or a
# serialization failure on PostgreSQL, a lock wait past its timeout on SQLite, a lost
# connection, a unique key taken after all. Neither the rep row nor the reference races any
# more, so a few tries are plenty; past them the caller tells the rep.
START_ATTEMPTS = 5
RETRYABLE = (IntegrityError, OperationalError)


@dataclass(frozen=True)
class Started:
    request_id: uuid.UUID
    ref: str
    job_id: uuid.UUID
    created: bool  # False when this was a retry of a request we already have


@dataclass(frozen=True)
class FromInbound:
    """The emailed ask a request answers (orchestrator.inbox.inbound_requests). It is marked
    offered in the request's own transaction, so the request exists exactly when the ask was
    offered, and its first email can find the thread it answers."""

    inbound_id: uuid.UUID
    decided_by: str


class AskAlreadyAnswered(Exception):
    """The ask was offered or ignored from another click first; nothing was started."""


def ensure_rep(
    session: Session, *, org_id: str, profile: RepProfile, now: datetime, daily_send_limit: int
) -> Rep:
    """The rep's row, created on their first command.

    A rep's first clicks can arrive together (Start on two cards, settings while a request
    starts): the row is claimed with insert-or-ignore, so the slower transaction waits for
    the faster one and reads its row instead of failing on the unique key.
    """
    mine = select(Rep).where(Rep.org_id == org_id, Rep.slack_user_id == profile.slack_user_id)
    rep = session.exec(mine).first()
    if rep is None:
        new = Rep(
            org_id=org_id,
            slack_user_id=profile.slack_user_id,
            email=profile.email.lower(),
            name=profile.name,
            timezone=profile.timezone,
            daily_send_limit=daily_send_limit,
            created_at=now,
        )
        insert_or_ignore(session, model=Rep, values=new.model_dump())
        rep = session.exec(mine).one()
    return rep


def _ref_prefix(email: str) -> str:
    """ACME for john@acme.example: the prospect's company, from their domain."""
    domain = email.rsplit("@", 1)[-1].split(".")[0]
    return (re.sub(r"[^A-Za-z0-9]", "", domain).upper() or "REQ")[:12]


def next_ref(session: Session, *, org_id: str, email: str) -> str:
    """ACME-3: the prospect's company, numbered within the org.

    The number is the org's counter for that prefix, bumped in the caller's transaction: a
    second request started at the same moment waits for this one's commit and takes the next
    number, and a transaction that rolls back gives its number back.
    """
    prefix = _ref_prefix(email)
    number = increment(
        session,
        model=ReferenceCounter,
        key={"org_id": org_id, "prefix": prefix},
        column="last_value",
    )
    return f"{prefix}-{number}"


def start_scheduling(
    deps: Deps,
    *,
    org_id: str,
    profile: RepProfile,
    command: ScheduleCommand,
    idempotency_key: str,
    source: str = "slack",
    event_type: str = EventType.scheduling_requested,
    inbound: FromInbound | None = None,
) -> Started:
    """Create the request and its job (`event_type`, one of `START_EVENTS`) in one transaction,
    then wake it.

    Commands at once wait for each other on the rep row and the reference counter instead of
    colliding; a transaction that still fails on another writer (see `RETRYABLE`) is rolled
    back and run again. Whatever is raised after that, the caller must tell the rep: Slack
    was acked before this ran.
    """
    if event_type not in START_EVENTS:
        raise ValueError(f"a request cannot start with {event_type!r}")
    for attempt in range(1, START_ATTEMPTS + 1):
        try:
            started = _start_once(
                deps,
                org_id=org_id,
                profile=profile,
                command=command,
                idempotency_key=idempotency_key,
                source=source,
                event_type=event_type,
                inbound=inbound,
            )
        except RETRYABLE:
            if attempt == START_ATTEMPTS:
                raise
            # Jitter, so transactions that just collided don't meet again in lockstep.
            time.sleep(random.uniform(0.005, 0.02) * attempt)  # noqa: S311 - not security
            continue
        if started.created:
            deps.wakeups.run_step(started.job_id, tag="0-0")
        return started
    raise AssertionError("unreachable")


def _start_once(
    deps: Deps,
    *,
    org_id: str,
    profile: RepProfile,
    command: ScheduleCommand,
    idempotency_key: str,
    source: str,
    event_type: str,
    inbound: FromInbound | None = None,
) -> Started:
    now = deps.clock.now()
    with deps.uow() as uow:
        session = uow.session
        existing = session.exec(
            select(SequenceJob).where(SequenceJob.idempotency_key == idempotency_key)
        ).first()
        if existing is not None and existing.request_id is not None:
            request = session.get_one(SchedulingRequest, existing.request_id)
            return Started(request.id, request.ref, existing.id, created=False)
        rep = ensure_rep(
            session,
            org_id=org_id,
            profile=profile,
            now=now,
            daily_send_limit=deps.settings.daily_send_limit,
        )
        request = SchedulingRequest(
            org_id=org_id,
            rep_id=rep.id,
            ref=next_ref(session, org_id=org_id, email=command.emails[0]),
            meeting_type=command.meeting_type,
            duration_minutes=command.duration_minutes,
            title=f"{command.meeting_type.capitalize()} with {', '.join(command.emails)}",
            context=command.context,
            platform=command.platform,
            location=command.location,
            preferred_times=list(command.preferred_times),
            avoid_days=list(command.avoid_days),
            date_range_start=command.window_start,
            date_range_end=command.window_end,
            timezone=rep.timezone,
            created_at=now,
            updated_at=now,
        )
        session.add(request)
        session.flush()  # rows below reference it; with no relationships the ORM won't order them
        session.add(
            SchedulingAttendee(
                org_id=org_id,
                request_id=request.id,
                side="internal",
                organizer=True,
                email=rep.email,
                name=rep.name,
                timezone=rep.timezone,
                invite_status="accepted",
                created_at=now,
            )
        )
        for mate in command.teammates:
            if mate.email.lower() == rep.email:
                continue
            session.add(
                SchedulingAttendee(
                    org_id=org_id,
                    request_id=request.id,
                    side="internal",
                    email=mate.email.lower(),
                    name=mate.name,
                    timezone=mate.timezone,
                    created_at=now,
                )
            )
        for guest in command.external():
            session.add(
                SchedulingAttendee(
                    org_id=org_id,
                    request_id=request.id,
                    side="external",
                    email=guest.email,
                    name=guest.name,
                    required=guest.required,
                    timezone=command.prospect_timezone,
                    created_at=now,
                )
            )
        record_action(
            session,
            org_id=org_id,
            request_id=request.id,
            kind="request_created",
            actor="user",
            reasoning=f"/schedule by <@{profile.slack_user_id}>",
            details={"emails": list(command.emails), "duration": command.duration_minutes},
            now=now,
        )
        session.flush()
        if inbound is not None:
            _take_ask(session, inbound, request=request, now=now)
        job, _ = insert_job(
            session,
            Event(
                type=EventType(event_type),
                org_id=org_id,
                idempotency_key=idempotency_key,
                source=source,
                rep_id=rep.id,
                request_id=request.id,
                payload=RequestStarted(ref=request.ref),
            ),
            now=now,
        )
        if job.request_id != request.id:
            # A retry of the same Slack command won the race: keep its request, drop ours.
            return Started(
                job.request_id or request.id,
                payload(job, RequestStarted).ref,
                job.id,
                created=False,
            )
        uow.commit()
        return Started(request.id, request.ref, job.id, created=True)


def _take_ask(
    session: Session, inbound: FromInbound, *, request: SchedulingRequest, now: datetime
) -> None:
    won = session.execute(
        update(InboundRequest)
        .where(
            col(InboundRequest.id) == inbound.inbound_id,
            col(InboundRequest.status) == InboundStatus.carded,
        )
        .values(
            status=InboundStatus.offered,
            request_id=request.id,
            decided_by=inbound.decided_by,
            decided_at=now,
        )
    )
    if won.rowcount != 1:  # type: ignore[attr-defined]
        raise AskAlreadyAnswered(str(inbound.inbound_id))
