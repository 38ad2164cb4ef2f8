"""Nothing is stuck: every request still under way has something that will move it on.

A request that is neither finished nor paused must have a wake-up (a follow-up the clock will
start, a stall check that will ask the rep, a job queued or running, a booked meeting the clock
watches for its reminder and its "did it happen?" card) or a card waiting on the rep (a draft
to approve, a decision, a reply from a stranger, a person a reply named). A paused request is
the rep's to move; it is stuck only when a reply came in while it was paused and no card offers
to reopen it.

`stuck_requests` lists those that have none of these: each is a request the rep believes is
being handled while nothing will ever happen on it again.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import or_, text
from sqlmodel import Session, col, select

from db.models import (
    BOOKED_STATUSES,
    BOOKED_WHERE,
    OPEN_ACTION_STATUSES,
    UNSCHEDULED_WHERE,
    EmailMessage,
    JobStatus,
    PendingAction,
    RequestStatus,
    SchedulingAction,
    SchedulingRequest,
    SequenceJob,
    SlackNotification,
)
from orchestrator.engine.event_types import EventType
from orchestrator.inbox.stranger_replies import HELD
from orchestrator.steps.meeting import check_key
from orchestrator.timers.due import DUE_EVENTS, MEETING_CHECK_WINDOW

LIVE_JOBS = (JobStatus.queued, JobStatus.running, JobStatus.waiting_approval)
# What `respond` says when it leaves a reply to the recipient card (steps.respond.on_delegate).
AWAITS_RECIPIENT = "waiting for the rep to confirm who they named"
# Ids per IN list: well under every driver's parameter limit.
CHUNK = 1000


def stuck_requests(
    session: Session,
    *,
    now: datetime,
    idle_since: datetime | None = None,
    request_ids: list[uuid.UUID] | None = None,
) -> list[SchedulingRequest]:
    """Requests under way with neither a wake-up nor an open card, oldest first; with
    `idle_since`, only those not changed since then; with `request_ids`, only those.

    The request's own row rules out most (a follow-up due, a meeting the clock watches, a
    decision card): those are left out by the query, through a partial index. Each check of
    the rest (a live job, an open card) is one read for all of them.
    """
    unscheduled = select(SchedulingRequest).where(text(UNSCHEDULED_WHERE))
    # A booked meeting moves on by itself until a week after it ended (timers.due).
    booked = (
        select(SchedulingRequest)
        .where(text(BOOKED_WHERE))
        .where(
            or_(
                col(SchedulingRequest.meeting_end).is_(None),
                col(SchedulingRequest.meeting_end) <= now - MEETING_CHECK_WINDOW,
            )
        )
    )
    if idle_since is not None:
        unscheduled = unscheduled.where(col(SchedulingRequest.updated_at) < idle_since)
        booked = booked.where(col(SchedulingRequest.updated_at) < idle_since)
    if request_ids is not None:
        unscheduled = unscheduled.where(col(SchedulingRequest.id).in_(request_ids))
        booked = booked.where(col(SchedulingRequest.id).in_(request_ids))
    rows = [*session.exec(unscheduled), *session.exec(booked)]
    rows = [r for r in rows if not _moves_by_itself(r, now=now)]
    ids = [r.id for r in rows]
    carded = _with_open_card(session, ids)
    live = _with_live_job(session, [r.id for r in rows if r.status != RequestStatus.paused])
    asked = _meeting_checks_posted(session, [r for r in rows if r.status in BOOKED_STATUSES])
    replied = _replied_since_paused(
        session, [r.id for r in rows if r.status == RequestStatus.paused]
    )
    stuck = []
    for r in rows:
        if r.id in carded:
            continue
        if r.status == RequestStatus.paused:
            if r.id in replied:
                stuck.append(r)
        elif r.id not in live and r.id not in asked:
            stuck.append(r)
    return sorted(stuck, key=lambda r: r.created_at)


def _moves_by_itself(request: SchedulingRequest, *, now: datetime) -> bool:
    """What the request's own row says will move it (the query leaves most of these out)."""
    if request.event_next_action == "waiting_for_decision":
        return True  # a decision card
    if request.status == RequestStatus.paused:
        return False
    if request.next_action_at is not None and request.next_action_type in DUE_EVENTS:
        return True
    if request.stall_check_at is not None:
        return True  # the rep is asked then what happens next (timers.stalled)
    if request.status in BOOKED_STATUSES and request.meeting_start is not None:
        # The clock reminds before the meeting and asks about it after (timers.due).
        end = request.meeting_end or request.meeting_start
        return end > now - MEETING_CHECK_WINDOW
    return False


def _chunks(ids: Iterable[Any]) -> Iterator[list[Any]]:
    ids = list(ids)
    for i in range(0, len(ids), CHUNK):
        yield ids[i : i + CHUNK]


def _with_open_card(session: Session, ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """Requests with a card waiting on the rep: a draft, a held reply from a stranger, a
    reply that named someone new."""
    found: set[uuid.UUID | None] = set()
    for chunk in _chunks(ids):
        found.update(
            session.exec(
                select(PendingAction.request_id)
                .where(col(PendingAction.request_id).in_(chunk))
                .where(col(PendingAction.status).in_(OPEN_ACTION_STATUSES))
            ).all()
        )
        found.update(
            session.exec(
                select(EmailMessage.request_id)
                .where(col(EmailMessage.request_id).in_(chunk))
                .where(EmailMessage.status == HELD)
            ).all()
        )
    return {i for i in found if i is not None} | _recipient_cards_open(session, ids)


def _with_live_job(session: Session, ids: list[uuid.UUID]) -> set[uuid.UUID]:
    found: set[uuid.UUID | None] = set()
    for chunk in _chunks(ids):
        found.update(
            session.exec(
                select(SequenceJob.request_id)
                .where(col(SequenceJob.request_id).in_(chunk))
                .where(col(SequenceJob.status).in_(LIVE_JOBS))
            ).all()
        )
    return {i for i in found if i is not None}


def _meeting_checks_posted(session: Session, requests: list[SchedulingRequest]) -> set[uuid.UUID]:
    """Booked requests whose meeting's "did it happen?" card was posted (and not answered)."""
    keys = {check_key(r.id, r.meeting_start): r.id for r in requests if r.meeting_start is not None}
    posted: set[str] = set()
    for chunk in _chunks(keys):
        posted.update(
            session.exec(
                select(SlackNotification.dedupe_key).where(
                    col(SlackNotification.dedupe_key).in_(chunk)
                )
            ).all()
        )
    return {keys[k] for k in posted}


def _recipient_cards_open(session: Session, ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """A reply named someone new and the rep has not yet answered the card about them."""
    waiting: dict[str, uuid.UUID] = {}
    for chunk in _chunks(ids):
        for job in session.exec(
            select(SequenceJob)
            .where(col(SequenceJob.request_id).in_(chunk))
            .where(SequenceJob.event_type == EventType.email_received)
        ):
            if (job.outputs.get("respond") or {}).get("reason") == AWAITS_RECIPIENT:
                assert job.request_id is not None
                waiting[f"recipient:{job.id}"] = job.request_id
    answered: set[str] = set()
    for chunk in _chunks(waiting):
        answered.update(
            session.exec(
                select(SequenceJob.idempotency_key).where(
                    col(SequenceJob.idempotency_key).in_(chunk)
                )
            ).all()
        )
    return {request_id for key, request_id in waiting.items() if key not in answered}


def _replied_since_paused(session: Session, ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """Paused requests whose prospect's reply was read after they were last paused."""
    kinds = ("request_paused", "follow_ups_stopped", "reply_received")
    latest: dict[uuid.UUID, tuple[datetime, bool]] = {}
    for chunk in _chunks(ids):
        for request_id, kind, at in session.exec(
            select(
                SchedulingAction.request_id,
                SchedulingAction.action_type,
                SchedulingAction.created_at,
            )
            .where(col(SchedulingAction.request_id).in_(chunk))
            .where(col(SchedulingAction.action_type).in_(kinds))
        ):
            assert request_id is not None
            # At the same moment the pause wins: the reply is what paused it.
            rank = (at, kind != "reply_received")
            if request_id not in latest or rank > latest[request_id]:
                latest[request_id] = rank
    return {request_id for request_id, (_, paused) in latest.items() if not paused}
