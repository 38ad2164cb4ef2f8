"""A worker that stalls past its lease cannot send, book or write a step twice (issue #12,
class 6).

Worker 1 claims and stalls (its clock jumps past the lease, as after a GC pause or a frozen
VM); worker 2 takes the work over and finishes it; then worker 1 resumes. The stall is the
`then` of a crash point, so worker 2 runs exactly inside worker 1's pause. Sends are counted
as provider calls, not as rows in a mailbox that would hide a duplicate.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import col

from connectors.calendar.local import LocalCalendar
from connectors.ports import OutboundEmail, SentEmail
from db.models import (
    ActionStatus,
    ActionType,
    JobStatus,
    PendingAction,
    Rep,
    RequestStatus,
    SchedulingAction,
    SchedulingRequest,
    SequenceJob,
)
from orchestrator.engine.crashpoints import armed
from orchestrator.engine.runner import run_step
from orchestrator.outbox.claims import EXECUTION_LEASE
from orchestrator.outbox.execute import execute
from tests.fakes.provider_calls import CountingCalendar, CountingMailbox
from tests.support.stack import REP_EMAIL, REP_ID, Stack, wait_for

PROSPECT = "john@acme.example"
PAST_THE_LEASE = EXECUTION_LEASE + timedelta(seconds=1)


@pytest.fixture
def mailbox(stack: Stack) -> CountingMailbox:
    counting = CountingMailbox(stack.deps.sessions, clock=stack.clock)
    stack.deps.mail = counting
    return counting


def _approved_first_email(stack: Stack) -> PendingAction:
    """The first email, approved in Slack, its undo window over; no worker has run it yet."""
    stack.schedule(f"demo with {PROSPECT}")
    stack.drain()
    card = wait_for(stack.cards, "the approval card")[0]
    assert stack.click("approve_action", card).status == 200
    (action,) = wait_for(
        lambda: stack.rows(PendingAction, col(PendingAction.status) == "approved"), "approve"
    )
    stack.clock.advance(timedelta(seconds=stack.deps.settings.undo_seconds))
    return action


def _audited(stack: Stack, kind: str) -> int:
    return len(stack.rows(SchedulingAction, col(SchedulingAction.action_type) == kind))


@pytest.mark.parametrize("stall_at", ["outbox.claimed", "outbox.provider_called"])
def test_a_worker_stalled_past_its_lease_neither_sends_nor_finishes_again(
    stack: Stack, mailbox: CountingMailbox, stall_at: str
) -> None:
    action = _approved_first_email(stack)
    second: list[str] = []

    def stall() -> None:
        stack.clock.advance(PAST_THE_LEASE)
        second.append(execute(stack.deps, action.id))  # worker 2 takes it over

    with armed(stall_at, then=stall):
        first = execute(stack.deps, action.id)

    assert second == ["executed"]
    assert first == "superseded"
    assert mailbox.calls == 1
    (action,) = stack.rows(PendingAction)
    assert action.status == ActionStatus.executed and action.attempts == 2
    assert _audited(stack, "action_executed") == 1
    stack.drain()  # the one resume worker 2 queued
    (request,) = stack.rows(SchedulingRequest)
    assert request.status == RequestStatus.awaiting_response
    assert request.attempt_count == 1
    (job,) = stack.rows(SequenceJob)
    assert job.status == JobStatus.done


def test_a_stall_nobody_took_over_still_sends_once(stack: Stack, mailbox: CountingMailbox) -> None:
    action = _approved_first_email(stack)
    with armed("outbox.claimed", then=lambda: stack.clock.advance(PAST_THE_LEASE)):
        assert execute(stack.deps, action.id) == "executed"
    assert mailbox.calls == 1
    assert execute(stack.deps, action.id) == "skipped"


def test_a_stalled_worker_whose_call_then_fails_leaves_the_take_over_standing(
    stack: Stack, mailbox: CountingMailbox
) -> None:
    """Worker 1's provider call hangs past the lease and then times out; worker 2 took over
    and sent meanwhile. Only the current claim writes the outcome: no retry is scheduled."""
    action = _approved_first_email(stack)
    second: list[str] = []

    class Hanging(CountingMailbox):
        def send(self, email: OutboundEmail) -> SentEmail:
            stack.deps.mail = mailbox  # worker 2 talks to a healthy provider
            stack.clock.advance(PAST_THE_LEASE)
            second.append(execute(stack.deps, action.id))
            raise TimeoutError("provider timed out")  # worker 1's call never got through

    stack.deps.mail = Hanging(stack.deps.sessions, clock=stack.clock)
    assert execute(stack.deps, action.id) == "superseded"
    assert second == ["executed"]
    (row,) = stack.rows(PendingAction)
    assert row.status == ActionStatus.executed and row.error is None
    assert _audited(stack, "action_executed") == 1
    stack.clock.advance(timedelta(minutes=10))
    stack.tick()
    assert mailbox.calls == 1
    assert len(stack.inbox(PROSPECT)) == 1


def _approved_booking(stack: Stack) -> uuid.UUID:
    start = datetime(2026, 12, 8, 15, 0, tzinfo=UTC)
    now = stack.clock.now()
    rep = Rep(
        org_id=stack.slack.team_id,
        slack_user_id=REP_ID,
        email=REP_EMAIL,
        timezone="America/New_York",
        created_at=now,
    )
    action = PendingAction(
        org_id=rep.org_id,
        rep_id=rep.id,
        action_type=ActionType.calendar_book,
        status=ActionStatus.approved,
        action_data={
            "title": "Demo",
            "start": start.isoformat(),
            "end": (start + timedelta(minutes=30)).isoformat(),
            "attendees": [{"email": PROSPECT, "name": "John Doe"}],
        },
        undo_until=now,
        idempotency_key=f"test:{uuid.uuid4()}",
        created_at=now,
        updated_at=now,
    )
    with stack.deps.uow() as uow:
        uow.session.add(rep)
        uow.session.flush()  # the rep's row before the action that points at it
        uow.session.add(action)
        uow.commit()
    return action.id


def test_a_stalled_booking_neither_books_nor_invites_twice(
    stack: Stack, mailbox: CountingMailbox
) -> None:
    calendar = CountingCalendar(stack.deps.calendar)
    stack.deps.calendar = calendar
    assert isinstance(calendar.inner, LocalCalendar)  # it invites by email, from the outbox
    action_id = _approved_booking(stack)
    second: list[str] = []

    def stall() -> None:
        stack.clock.advance(PAST_THE_LEASE)
        second.append(execute(stack.deps, action_id))

    with armed("outbox.claimed", then=stall):
        assert execute(stack.deps, action_id) == "superseded"
    assert second == ["executed"]
    assert calendar.calls == {"create": 1}
    assert mailbox.calls == 1  # the invitation
    (row,) = stack.rows(PendingAction)
    assert row.status == ActionStatus.executed and row.result is not None
    assert row.result["invite_message_id"] in mailbox.sends


def test_a_step_stalled_past_its_lease_is_thrown_away(stack: Stack) -> None:
    """Worker 2 re-runs the drafting step; worker 1's copy of it must not land as a second
    draft, nor fail the job on the duplicate, nor move it one step too far."""
    stack.schedule(f"demo with {PROSPECT}")
    (job,) = stack.rows(SequenceJob)
    assert run_step(stack.deps, job.id) == JobStatus.queued  # find_slots
    lease = timedelta(seconds=stack.deps.settings.step_lease_seconds + 1)
    second: list[str] = []

    def stall() -> None:
        stack.clock.advance(lease)
        second.append(run_step(stack.deps, job.id))

    with armed("runner.leased", then=stall):
        assert run_step(stack.deps, job.id) == "lease-lost"
    assert second == [JobStatus.waiting_approval]
    (job,) = stack.rows(SequenceJob)
    assert job.status == JobStatus.waiting_approval and job.last_error is None
    assert job.steps_completed == ["find_slots", "draft_initial_email"]
    assert len(stack.rows(PendingAction)) == 1


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_a_step_that_stalls_mid_work_commits_nothing_after_a_take_over(stack: Stack) -> None:
    """The stall inside the step, its transaction open: only PostgreSQL lets worker 2 write
    meanwhile (SQLite holds one writer), which is where a real stall would land."""
    stack.schedule(f"demo with {PROSPECT}")
    (job,) = stack.rows(SequenceJob)
    assert run_step(stack.deps, job.id) == JobStatus.queued
    lease = timedelta(seconds=stack.deps.settings.step_lease_seconds + 1)
    second: list[str] = []

    def stall() -> None:
        stack.clock.advance(lease)
        second.append(run_step(stack.deps, job.id))

    with armed("runner.step_ran", then=stall):
        assert run_step(stack.deps, job.id) == "lease-lost"
    assert second == [JobStatus.waiting_approval]
    (job,) = stack.rows(SequenceJob)
    assert job.status == JobStatus.waiting_approval and job.last_error is None
    assert job.steps_completed == ["find_slots", "draft_initial_email"]
    (action,) = stack.rows(PendingAction)
    stack.drain()
    cards = wait_for(stack.cards, "the card")
    assert len(cards) == 1 and cards[0].ts == stack.rows(PendingAction)[0].slack_ts
    assert action.created_at == stack.clock.now()  # worker 2's draft, made after the stall
