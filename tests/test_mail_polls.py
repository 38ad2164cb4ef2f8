"""Mail is read by workers, one job per mailbox, queued by the clock's tick: only mailboxes
that could hold an answer are read, a read still waiting is not queued twice, and a read that
finds nothing writes nothing. Runs on SQLite + fakeredis and PostgreSQL + Redis."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from rq.job import Job, JobStatus
from rq.utils import now as rq_now
from sqlalchemy import event, update
from sqlmodel import col

from db.models import EmailMessage, Rep, RequestStatus, SchedulingRequest, SequenceJob
from orchestrator.engine.wakeups import READ_PRESUMED_DEAD
from orchestrator.inbox.mail_polls import RECENTLY_FINISHED, mailboxes_to_read, queue_mail_polls
from tests.support.stack import REP_ID, Stack
from tests.test_mail_intake import a_reply, send_first_email


@contextmanager
def statements(stack: Stack) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(stack.deps.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(stack.deps.engine, "before_cursor_execute", record)


def queued_reads(stack: Stack) -> list[str]:
    return [job_id for job_id in stack.deps.queue.job_ids if job_id.startswith("mail-")]


def the_rep(stack: Stack) -> Rep:
    (rep,) = stack.rows(Rep, col(Rep.slack_user_id) == REP_ID)
    return rep


def set_request(stack: Stack, **values: Any) -> None:
    with stack.deps.uow() as uow:
        uow.session.execute(update(SchedulingRequest).values(**values))
        uow.commit()


def test_the_tick_queues_a_read_and_a_worker_takes_the_reply_in(stack: Stack) -> None:
    original = send_first_email(stack)
    stack.deliver(a_reply(original, "Tuesday at 10 works for me.").as_bytes())

    stack.tick()  # queues the read; the worker (drained by `tick`) reads the mailbox

    (inbound,) = stack.rows(EmailMessage, col(EmailMessage.direction) == "inbound")
    assert "Tuesday at 10" in inbound.body_text
    kinds = [job.event_type for job in stack.rows(SequenceJob)]
    assert "email_received" in kinds


def test_a_read_still_waiting_is_not_queued_again(stack: Stack) -> None:
    send_first_email(stack)

    assert queue_mail_polls(stack.deps) == 1
    assert queue_mail_polls(stack.deps) == 0  # the first still waits in the queue
    assert queued_reads(stack) == [f"mail-{the_rep(stack).id}"]

    stack.drain()
    assert queue_mail_polls(stack.deps) == 1  # read; the next interval reads again


def _reading_since(stack: Stack, started: datetime) -> None:
    """The mailbox's read taken by a worker at `started` (RQ's clock), and still "started"."""
    job = Job.fetch(f"mail-{the_rep(stack).id}", connection=stack.deps.queue.connection)
    job.set_status(JobStatus.STARTED)
    job.started_at = started
    job.save()


def test_a_read_running_is_not_queued_again_but_one_whose_worker_died_is(stack: Stack) -> None:
    send_first_email(stack)
    assert queue_mail_polls(stack.deps) == 1

    _reading_since(stack, rq_now())
    assert queue_mail_polls(stack.deps) == 0  # a worker is reading it right now

    # Its worker was killed mid-read: RQ keeps the job "started" until its timeout.
    _reading_since(stack, rq_now() - READ_PRESUMED_DEAD - timedelta(seconds=1))
    assert queue_mail_polls(stack.deps) == 1
    stack.drain()
    assert Job.fetch(
        f"mail-{the_rep(stack).id}", connection=stack.deps.queue.connection
    ).is_finished


def test_only_mailboxes_that_could_hold_an_answer_are_read(stack: Stack) -> None:
    send_first_email(stack)
    now = stack.clock.now()
    rep = the_rep(stack)

    with stack.deps.uow() as uow:
        assert mailboxes_to_read(uow.session, now=now) == [rep.id]

    # Finished recently: a late answer can still come.
    set_request(stack, status=RequestStatus.completed, updated_at=now - timedelta(days=3))
    with stack.deps.uow() as uow:
        assert mailboxes_to_read(uow.session, now=now) == [rep.id]

    # Finished long ago, nothing open: the mailbox costs nothing.
    long_ago = now - RECENTLY_FINISHED - timedelta(hours=1)
    set_request(stack, status=RequestStatus.cancelled, updated_at=long_ago)
    with stack.deps.uow() as uow:
        assert mailboxes_to_read(uow.session, now=now) == []

    # Paused is not finished: the prospect may still answer.
    set_request(stack, status=RequestStatus.paused, updated_at=long_ago)
    with stack.deps.uow() as uow:
        assert mailboxes_to_read(uow.session, now=now) == [rep.id]


def test_a_read_that_finds_nothing_writes_nothing(stack: Stack) -> None:
    send_first_email(stack)  # its poll set the cursor
    stack.tick()
    cursor = the_rep(stack).mail_cursor
    assert queue_mail_polls(stack.deps) == 1

    with statements(stack) as seen:
        stack.drain()

    writes = [s for s in seen if s.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]
    assert writes == []
    assert the_rep(stack).mail_cursor == cursor


def test_a_read_of_a_removed_rep_does_nothing(stack: Stack) -> None:
    from orchestrator.inbox.mail_polls import poll_mailbox

    assert poll_mailbox(stack.deps, uuid.uuid4()) == {}


def test_an_idle_mailbox_is_read_once_a_round_in_its_own_slot(stack: Stack) -> None:
    """Nothing under way: the mailbox is still read, for new asks to meet, but once in each
    round of IDLE_MAILBOX_MINUTES (ten 30-second intervals by default), always in the same
    interval of the round."""
    send_first_email(stack)
    long_ago = stack.clock.now() - RECENTLY_FINISHED - timedelta(hours=1)
    set_request(stack, status=RequestStatus.cancelled, updated_at=long_ago)
    rep = the_rep(stack)
    interval = timedelta(seconds=stack.deps.settings.clock_interval_seconds)
    round_ = timedelta(minutes=stack.deps.settings.idle_mailbox_minutes)
    assert round_ / interval == 10

    def read_in(start: datetime) -> list[int]:
        found = []
        for i in range(10):
            with stack.deps.uow() as uow:
                ids = mailboxes_to_read(
                    uow.session, now=start + i * interval, idle_round=round_, interval=interval
                )
            found += [i] * ids.count(rep.id)
        return found

    first = read_in(stack.clock.now())
    assert len(first) == 1  # once a round, not every interval and not never
    assert read_in(stack.clock.now() + round_) == first  # the same slot the next round
    with stack.deps.uow() as uow:
        assert mailboxes_to_read(uow.session, now=stack.clock.now(), idle_round=None) == []
