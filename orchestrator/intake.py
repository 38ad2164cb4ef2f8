"""Turning a rep's `/schedule` into a request, its attendees and its sequence job, atomically."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from db.models import Rep, SchedulingAction, SchedulingAttendee, SchedulingRequest, SequenceJob
from orchestrator.bootstrap import Deps
from orchestrator.dispatch import insert_job
from orchestrator.events import Event


@dataclass(frozen=True)
class ScheduleCommand:
    """A validated request to schedule, however it was entered (slash command, modal, API)."""

    meeting_type: str
    emails: tuple[str, ...]
    duration_minutes: int = 30
    window_start: datetime | None = None
    window_end: datetime | None = None
    context: str = ""


@dataclass(frozen=True)
class RepProfile:
    """What Slack tells us about the rep (users.info)."""

    slack_user_id: str
    email: str
    name: str
    timezone: str


@dataclass(frozen=True)
class Started:
    request_id: uuid.UUID
    ref: str
    job_id: uuid.UUID
    created: bool  # False when this was a retry of a request we already have


def ensure_rep(
    session: Session, *, org_id: str, profile: RepProfile, now: datetime, daily_send_limit: int
) -> Rep:
    rep = session.exec(
        select(Rep).where(Rep.org_id == org_id, Rep.slack_user_id == profile.slack_user_id)
    ).first()
    if rep is None:
        rep = Rep(
            org_id=org_id,
            slack_user_id=profile.slack_user_id,
            email=profile.email.lower(),
            name=profile.name,
            timezone=profile.timezone,
            daily_send_limit=daily_send_limit,
            created_at=now,
        )
        session.add(rep)
        session.flush()
    return rep


def next_ref(session: Session, *, org_id: str, email: str) -> str:
    """ACME-3: the prospect's company from their domain, numbered within the org."""
    domain = email.rsplit("@", 1)[-1].split(".")[0]
    prefix = (re.sub(r"[^A-Za-z0-9]", "", domain).upper() or "REQ")[:12]
    count = session.exec(
        select(func.count())
        .select_from(SchedulingRequest)
        .where(SchedulingRequest.org_id == org_id)
        .where(col(SchedulingRequest.ref).startswith(prefix + "-"))
    ).one()
    return f"{prefix}-{int(count) + 1}"


def start_scheduling(
    deps: Deps,
    *,
    org_id: str,
    profile: RepProfile,
    command: ScheduleCommand,
    idempotency_key: str,
    source: str = "slack",
) -> Started:
    """Create the request and its `scheduling_requested` job in one transaction, then wake it."""
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
        for email in command.emails:
            session.add(
                SchedulingAttendee(
                    org_id=org_id,
                    request_id=request.id,
                    side="external",
                    email=email,
                    created_at=now,
                )
            )
        session.add(
            SchedulingAction(
                org_id=org_id,
                request_id=request.id,
                action_type="request_created",
                actor="user",
                reasoning=f"/schedule by <@{profile.slack_user_id}>",
                details={"emails": list(command.emails), "duration": command.duration_minutes},
                created_at=now,
            )
        )
        session.flush()
        job, _ = insert_job(
            session,
            Event(
                type="scheduling_requested",
                org_id=org_id,
                idempotency_key=idempotency_key,
                source=source,
                rep_id=rep.id,
                request_id=request.id,
                payload={"ref": request.ref},
            ),
            now=now,
        )
        uow.commit()
        started = Started(request.id, request.ref, job.id, created=True)
    deps.wakeups.run_step(job.id, tag="0-0")
    return started
