"""Acceptance: racing approvals, transient failures and a killed worker never send twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path

from redis import Redis
from sqlmodel import col, select

from connectors.calendar.local import LocalCalendar
from connectors.clock import ManualClock
from connectors.errors import ReconnectRequired, TransientError
from connectors.mail.local import LocalMailbox
from connectors.ports import OutboundEmail, SentEmail
from db.models import (
    ActionStatus,
    ActionType,
    JobStatus,
    PendingAction,
    RequestStatus,
    SchedulingRequest,
    SequenceJob,
)
from orchestrator.outbox.decisions import decide
from orchestrator.outbox.execute import execute
from orchestrator.timers.reconciler import reconcile
from tests.support.services import REDIS_URL, redis_db_number
from tests.support.stack import REP_ID, Stack, wait_for

PROSPECT = "john@acme.example"
ROOT = Path(__file__).resolve().parents[1]


class CountingMailbox(LocalMailbox):
    """The embedded mailbox, counting provider calls per Message-ID."""

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.sends: Counter[str] = Counter()
        self._lock = threading.Lock()

    def send(self, email: OutboundEmail) -> SentEmail:
        with self._lock:
            self.sends[email.message_id] += 1
        return super().send(email)


def _parked_job(stack: Stack) -> SequenceJob:
    stack.schedule(f"demo with {PROSPECT}")
    stack.drain()
    wait_for(stack.cards, "the approval card")
    (job,) = stack.rows(SequenceJob)
    assert job.status == JobStatus.waiting_approval
    return job


def _new_pending_action(stack: Stack, job: SequenceJob, n: int) -> uuid.UUID:
    now = stack.clock.now()
    action = PendingAction(
        org_id=job.org_id,
        rep_id=job.rep_id,
        request_id=job.request_id,
        action_type=ActionType.email_follow_up,
        idempotency_key=f"race-{n}",
        action_data={
            "to": [PROSPECT],
            "subject": f"race {n}",
            "body": "hello",
            "message_id": f"<race-{n}@convene.local>",
        },
        created_at=now,
        updated_at=now,
    )
    with stack.deps.uow() as uow:
        uow.session.add(action)
        uow.commit()
    return action.id


def test_racing_approvals_send_exactly_once_on_postgres(
    pg_url: str, real_redis: Redis, clock: ManualClock
) -> None:
    with Stack.start(
        database_url=pg_url, redis=real_redis, clock=clock, undo_seconds=0, daily_send_limit=500
    ) as stack:
        mailbox = CountingMailbox(stack.deps.sessions, clock=clock)
        stack.deps.mail = mailbox
        job = _parked_job(stack)
        rounds = 100
        for n in range(rounds):
            action_id = _new_pending_action(stack, job, n)
            barrier = threading.Barrier(2)
            wins: list[bool] = []

            def click(action_id: uuid.UUID, barrier: threading.Barrier, wins: list[bool]) -> None:
                barrier.wait()
                decision = decide(
                    stack.deps, action_id=action_id, decision="approve", slack_user_id=REP_ID
                )
                wins.append(decision.ok)
                execute(stack.deps, action_id)

            threads = [
                threading.Thread(target=click, args=(action_id, barrier, wins)) for _ in range(2)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=30)
            assert sorted(wins) == [False, True], f"round {n}: {wins}"
            assert mailbox.sends[f"<race-{n}@convene.local>"] == 1, f"round {n}"
        assert len(stack.inbox(PROSPECT)) == rounds
        executed = stack.rows(PendingAction, col(PendingAction.status) == ActionStatus.executed)
        assert len(executed) == rounds


class FlakyCalendar(LocalCalendar):
    """Times out once, then answers."""

    failures = 1

    def free_busy(self, **kwargs):  # type: ignore[no-untyped-def, override]
        if self.failures:
            self.failures -= 1
            raise TransientError("calendar timed out")
        return super().free_busy(**kwargs)


def test_transient_step_failure_is_retried(stack: Stack) -> None:
    stack.deps.calendar = FlakyCalendar(stack.deps.sessions, org_id="embedded")
    stack.schedule(f"demo with {PROSPECT}")
    stack.drain()
    (job,) = stack.rows(SequenceJob)
    assert job.status == JobStatus.queued
    assert job.last_error == "TransientError: calendar timed out"
    assert job.run_after > stack.clock.now()
    assert stack.cards() == []
    # The retry's wake-up is scheduled; the clock's reconciler is the backstop if it is lost.
    stack.clock.advance(timedelta(minutes=2))
    stack.tick()
    (job,) = stack.rows(SequenceJob)
    assert job.status == JobStatus.waiting_approval
    assert job.steps_completed == ["find_slots", "draft_initial_email"]
    assert len(wait_for(stack.cards, "the card")) == 1


class TimeoutAfterSendMailbox(CountingMailbox):
    """The provider accepts the message but our call times out, once."""

    timeouts = 1

    def send(self, email: OutboundEmail) -> SentEmail:
        sent = super().send(email)
        if self.timeouts:
            self.timeouts -= 1
            raise TransientError("read timed out")
        return sent


def test_send_that_timed_out_after_delivery_is_reconciled_not_resent(stack: Stack) -> None:
    mailbox = TimeoutAfterSendMailbox(stack.deps.sessions, clock=stack.clock)
    stack.deps.mail = mailbox
    _parked_job(stack)
    card = stack.cards()[0]
    stack.click("approve_action", card)
    wait_for(lambda: stack.rows(PendingAction, col(PendingAction.status) == "approved"), "approve")
    stack.clock.advance(timedelta(seconds=30))
    stack.tick()
    (action,) = stack.rows(PendingAction)
    assert action.status == ActionStatus.approved  # waiting to retry
    assert action.error == "TransientError: read timed out"
    stack.clock.advance(timedelta(minutes=1))
    stack.tick()
    (action,) = stack.rows(PendingAction)
    assert action.status == ActionStatus.executed
    assert sum(mailbox.sends.values()) == 1, "the retry must find the first send, not resend"
    assert len(stack.inbox(PROSPECT)) == 1
    (request,) = stack.rows(SchedulingRequest)
    assert request.status == RequestStatus.awaiting_response


def _start_hanging_worker(stack: Stack, hang: str) -> subprocess.Popen[str]:
    redis_url = f"{REDIS_URL.rstrip('/')}/{redis_db_number()}"
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.support.hanging_worker",
            stack.deps.settings.database_url,
            redis_url,
            stack.clock.now().isoformat(),
            hang,
        ],
        cwd=ROOT,
        start_new_session=True,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def _kill_worker_and_horse(worker: subprocess.Popen[str]) -> None:
    # The work-horse calls setpgrp(), so killing the worker's group would miss it.
    horses = subprocess.run(
        ["pgrep", "-P", str(worker.pid)], capture_output=True, text=True, check=False
    ).stdout.split()
    for pid in [worker.pid, *map(int, horses)]:
        os.kill(pid, signal.SIGKILL)
    worker.wait(timeout=10)


def test_worker_killed_after_send_is_resumed_and_sends_once(pg_stack: Stack) -> None:
    stack = pg_stack
    _parked_job(stack)
    card = stack.cards()[0]
    stack.click("approve_action", card)
    wait_for(lambda: stack.rows(PendingAction, col(PendingAction.status) == "approved"), "approve")
    stack.clock.advance(timedelta(seconds=30))
    from orchestrator.timers.reconciler import reconcile

    assert reconcile(stack.deps).actions == 1  # the wake-up goes to real Redis, not run here
    worker = _start_hanging_worker(stack, "mail")
    try:
        wait_for(lambda: stack.inbox(PROSPECT), "the hanging worker's send", timeout=30)
        (action,) = stack.rows(PendingAction)
        assert action.status == ActionStatus.executing
    finally:
        _kill_worker_and_horse(worker)

    stack.clock.advance(timedelta(minutes=3))  # past the execution lease
    stack.tick()
    (action,) = stack.rows(PendingAction)
    assert action.status == ActionStatus.executed
    assert action.attempts == 2
    assert len(stack.inbox(PROSPECT)) == 1
    (request,) = stack.rows(SchedulingRequest)
    assert request.status == RequestStatus.awaiting_response


def test_worker_killed_mid_step_is_resumed_by_the_reconciler(pg_stack: Stack) -> None:
    stack = pg_stack
    stack.schedule(f"demo with {PROSPECT}")  # wake-up waits in Redis
    worker = _start_hanging_worker(stack, "calendar")
    try:
        wait_for(
            lambda: stack.rows(SequenceJob, col(SequenceJob.status) == JobStatus.running),
            "the worker to lease the job",
            timeout=30,
        )
    finally:
        _kill_worker_and_horse(worker)
    stack.deps.queue.empty()  # whatever the dead worker left behind is gone, as after a crash

    stack.clock.advance(timedelta(seconds=stack.deps.settings.step_lease_seconds + 1))
    stack.tick()
    (job,) = stack.rows(SequenceJob)
    assert job.status == JobStatus.waiting_approval
    assert job.steps_completed == ["find_slots", "draft_initial_email"]
    assert len(stack.cards()) == 1
    with stack.deps.uow() as uow:
        assert len(uow.session.exec(select(PendingAction)).all()) == 1


def test_daily_send_limit_stops_the_send_and_says_why(sqlite_url: str, clock: ManualClock) -> None:
    import fakeredis

    with Stack.start(
        database_url=sqlite_url,
        redis=fakeredis.FakeRedis(),
        clock=clock,
        undo_seconds=0,
        daily_send_limit=2,
    ) as stack:
        job = _parked_job(stack)
        outcomes = []
        for n in range(3):
            action_id = _new_pending_action(stack, job, n)
            decide(stack.deps, action_id=action_id, decision="approve", slack_user_id=REP_ID)
            outcomes.append(execute(stack.deps, action_id))
        assert outcomes == ["executed", "executed", "failed"]
        (failed,) = stack.rows(PendingAction, col(PendingAction.status) == ActionStatus.failed)
        assert failed.error is not None and failed.error.startswith("Daily send limit reached (2")
        assert len(stack.inbox(PROSPECT)) == 2


class RevokedCalendar(LocalCalendar):
    def free_busy(self, **kwargs):  # type: ignore[no-untyped-def, override]
        raise ReconnectRequired("Google said invalid_grant")


def test_revoked_calendar_tells_the_rep_to_reconnect_without_retrying(stack: Stack) -> None:
    stack.deps.calendar = RevokedCalendar(stack.deps.sessions, org_id="embedded")
    stack.schedule(f"demo with {PROSPECT}")
    stack.drain()
    (job,) = stack.rows(SequenceJob)
    assert job.status == JobStatus.failed and job.attempts == 1  # no retry storm
    dm = wait_for(lambda: [m for m in stack.slack.messages if "Reconnect" in m.text], "the DM")
    assert dm[0].text.startswith(":electric_plug: I lost access to a calendar or mailbox")
    assert "`/schedule connect`" in dm[0].text
    assert stack.cards() == []


def test_a_late_job_waits_in_the_queue_once_however_many_ticks_find_it(stack: Stack) -> None:
    """A backlog makes rows look late; re-waking them every tick would only grow the backlog."""
    stack.schedule(f"demo with {PROSPECT}")  # its wake-up waits; nobody drains the queue
    stack.deps.queue.empty()  # as if the wake-up was lost
    stack.clock.advance(timedelta(minutes=2))
    for _ in range(5):
        reconcile(stack.deps)  # the clock's tick, with no worker draining the queue
        stack.clock.advance(timedelta(seconds=30))
    (job,) = stack.rows(SequenceJob)
    waiting = [rq_id for rq_id in stack.deps.queue.get_job_ids() if str(job.id) in rq_id]
    assert len(waiting) == 1, waiting

    stack.drain()  # once it has run, a later tick may wake it again if it is still late
    (job,) = stack.rows(SequenceJob)
    assert job.status == JobStatus.waiting_approval
