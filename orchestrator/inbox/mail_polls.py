"""Which mailboxes are read, and reading one of them on a worker.

Reading mail inside the clock's tick, rep by rep, made every tick as slow as the sum of all
mailboxes (one slow provider held up everything due after it) and grew with the number of
reps. The tick now only queues one `poll_mailbox` job per mailbox worth reading — one query
and two Redis round trips whatever the number of reps — and workers read them side by side.

A mailbox is worth reading while its rep has a request that is not finished, or one that
finished recently: a late "thanks — could we move it?" still reaches the rep. A rep with
nothing open costs nothing.
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy import Exists, or_
from sqlmodel import Session, col, select

from db.models import FINISHED_STATUSES, Rep, SchedulingRequest
from orchestrator.deps import Deps
from orchestrator.inbox.intake import read_mailbox, record_run

RECENTLY_FINISHED = timedelta(days=14)


def mailboxes_to_read(
    session: Session,
    *,
    now: datetime,
    idle_round: timedelta | None = None,
    interval: timedelta = timedelta(seconds=30),
) -> list[uuid.UUID]:
    """The reps whose mailbox could hold an answer to one of their requests, oldest first;
    with an `idle_round`, also this interval's slice of everyone else, so each idle mailbox is
    read once a round (for emailed asks to meet) and the load is spread over the round."""
    worth_reading = _worth_reading(now)
    if not idle_round:
        query = select(Rep.id).where(worth_reading).order_by(col(Rep.created_at))
        return list(session.exec(query))
    slices = max(1, round(idle_round / interval))
    this_slice = int(now.timestamp() // interval.total_seconds()) % slices
    # One read of every rep with whether they have a request under way: the slice is the
    # id's own number, so a rep keeps their slot from round to round.
    reps = session.exec(
        select(Rep.id, worth_reading.label("active")).order_by(col(Rep.created_at))
    ).all()
    active = [rep_id for rep_id, busy in reps if busy]
    idle = [rep_id for rep_id, busy in reps if not busy and rep_id.int % slices == this_slice]
    return active + idle


def _worth_reading(now: datetime) -> Exists:
    return (
        select(SchedulingRequest.id)
        .where(col(SchedulingRequest.rep_id) == col(Rep.id))
        .where(
            or_(
                col(SchedulingRequest.status).not_in(list(FINISHED_STATUSES)),
                col(SchedulingRequest.updated_at) > now - RECENTLY_FINISHED,
            )
        )
        .exists()
    )


def queue_mail_polls(deps: Deps) -> int:
    """Queue a read of every mailbox worth reading; returns how many were queued (a mailbox
    whose previous read has not finished is not queued again)."""
    with deps.uow() as uow:
        settings = deps.settings
        rep_ids = mailboxes_to_read(
            uow.session,
            now=deps.clock.now(),
            idle_round=timedelta(minutes=settings.idle_mailbox_minutes),
            interval=timedelta(seconds=settings.clock_interval_seconds),
        )
    return deps.wakeups.poll_mailboxes(rep_ids)


def poll_mailbox(deps: Deps, rep_id: uuid.UUID) -> dict[str, int]:
    """Read one rep's new mail (the worker's side of :func:`queue_mail_polls`).

    A run is recorded only when it read something or failed: an empty read every interval for
    every mailbox would be most of the rows the clock writes.
    """
    started = deps.clock.now()
    with deps.uow() as uow:
        rep = uow.session.get(Rep, rep_id)
    if rep is None:  # the rep was removed after the read was queued
        return {}
    counts: Counter[str] = Counter()
    errors: list[str] = []
    read_mailbox(deps, rep=rep, reader_for=None, counts=counts, errors=errors)
    if errors or sum(counts.values()) > counts["mailboxes"]:
        record_run(deps, started=started, counts=counts, errors=errors)
    return dict(counts)
