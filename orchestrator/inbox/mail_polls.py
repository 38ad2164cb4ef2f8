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

from sqlalchemy import or_
from sqlmodel import Session, col, select

from db.models import FINISHED_STATUSES, Rep, SchedulingRequest
from orchestrator.deps import Deps
from orchestrator.inbox.intake import read_mailbox, record_run

RECENTLY_FINISHED = timedelta(days=14)


def mailboxes_to_read(
    session: Session, *, now: datetime, every_rep: bool = False
) -> list[uuid.UUID]:
    """The reps whose mailbox could hold an answer to one of their requests, oldest first;
    with `every_rep` (READ_EVERY_MAILBOX), every rep, so a new emailed ask reaches them too."""
    if every_rep:
        return list(session.exec(select(Rep.id).order_by(col(Rep.created_at))))
    worth_reading = (
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
    return list(session.exec(select(Rep.id).where(worth_reading).order_by(col(Rep.created_at))))


def queue_mail_polls(deps: Deps) -> int:
    """Queue a read of every mailbox worth reading; returns how many were queued (a mailbox
    whose previous read has not finished is not queued again)."""
    with deps.uow() as uow:
        rep_ids = mailboxes_to_read(
            uow.session, now=deps.clock.now(), every_rep=deps.settings.read_every_mailbox
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
