"""A process that dies between two commits leaves nothing parked forever (issue #12, class 5).

Each test stops the code at one named commit boundary (`orchestrator.engine.crashpoints`), forgets
every wake-up Redis held (as a crash can), lets the clock's reconciler tick, and checks the end
state from the rows and the provider calls: one send, the follow-up scheduled, nothing stuck.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlmodel import col

from db.models import (
    ActionStatus,
    JobStatus,
    PendingAction,
    RequestStatus,
    SchedulingAction,
    SchedulingRequest,
    SequenceJob,
)
from orchestrator.engine.crashpoints import SimulatedCrash, armed, crashpoint, load_environment
from orchestrator.outbox.claims import EXECUTION_LEASE
from orchestrator.outbox.decisions import decide
from orchestrator.timers.reconciler import LOST_WAKEUP_GRACE, reconcile
from tests.fakes.provider_calls import CountingMailbox
from tests.support.stack import REP_ID, Stack, wait_for

PROSPECT = "john@acme.example"
# Longer than every lease and grace the reconciler waits out.
AFTER_THE_CRASH = EXECUTION_LEASE + LOST_WAKEUP_GRACE + timedelta(seconds=1)

# Where the worker can die once the rep has approved: after the claim, after the provider took
# the email, after the final write, after the job was queued, after the card was redrawn.
SEND_PATH = [
    "outbox.claimed",
    "outbox.provider_called",
    "outbox.finished",
    "runner.resumed",
    "outbox.card_refreshed",
    "runner.leased",
    "runner.step_ran",
    "runner.step_committed",
]


@pytest.fixture
def mailbox(stack: Stack) -> CountingMailbox:
    counting = CountingMailbox(stack.deps.sessions, clock=stack.clock)
    stack.deps.mail = counting
    return counting


def _card_waiting(stack: Stack) -> PendingAction:
    stack.schedule(f"demo with {PROSPECT}")
    stack.drain()
    wait_for(stack.cards, "the approval card")
    (action,) = stack.rows(PendingAction)
    assert action.status == ActionStatus.pending
    return action


def _lose_every_wakeup(stack: Stack) -> None:
    """Redis forgets what the dead process had queued or scheduled."""
    stack.deps.redis.flushdb()


def _after_the_crash(stack: Stack) -> None:
    _lose_every_wakeup(stack)
    stack.clock.advance(AFTER_THE_CRASH)
    stack.tick()
    stack.tick()  # what the first tick's work started, and its cards, settle


def _assert_nothing_stuck(stack: Stack) -> None:
    open_jobs = stack.rows(
        SequenceJob,
        col(SequenceJob.status).in_(
            [JobStatus.queued, JobStatus.running, JobStatus.waiting_approval]
        ),
    )
    assert open_jobs == []
    open_actions = stack.rows(
        PendingAction,
        col(PendingAction.status).in_([ActionStatus.approved, ActionStatus.executing]),
    )
    assert open_actions == []
    for action in stack.rows(PendingAction):
        assert action.card_status == action.status, "the card shows what happened"
    report = reconcile(stack.deps)
    assert (report.jobs, report.actions, report.resumed, report.cards) == (0, 0, 0, 0)


def _card_text(stack: Stack, action: PendingAction) -> str:
    assert action.slack_channel and action.slack_ts
    message = stack.slack.message(action.slack_channel, action.slack_ts)
    return json.dumps(message.blocks)


@pytest.mark.parametrize("point", SEND_PATH)
def test_a_crash_on_the_send_path_still_sends_once_and_schedules_the_follow_up(
    stack: Stack, mailbox: CountingMailbox, point: str
) -> None:
    action = _card_waiting(stack)
    card = stack.cards()[0]
    assert stack.click("approve_action", card).status == 200
    wait_for(lambda: stack.rows(PendingAction, col(PendingAction.status) == "approved"), "approve")
    stack.clock.advance(timedelta(seconds=stack.deps.settings.undo_seconds))
    with armed(point):
        stack.tick()  # the worker dies at `point` (RQ records the job as failed)
    _after_the_crash(stack)

    assert mailbox.calls == 1
    (action,) = stack.rows(PendingAction)
    assert action.status == ActionStatus.executed
    (request,) = stack.rows(SchedulingRequest)
    assert request.status == RequestStatus.awaiting_response
    assert request.next_action_type == "follow_up" and request.next_action_at is not None
    (job,) = stack.rows(SequenceJob)
    assert job.status == JobStatus.done
    assert job.steps_completed == ["find_slots", "draft_initial_email", "record_sent"]
    assert ":white_check_mark: Sent" in _card_text(stack, action)
    executed = stack.rows(SchedulingAction, col(SchedulingAction.action_type) == "action_executed")
    assert len(executed) == 1
    _assert_nothing_stuck(stack)


def test_a_crash_right_after_approve_still_sends_once(
    stack: Stack, mailbox: CountingMailbox
) -> None:
    action = _card_waiting(stack)
    with armed("outbox.decided"), pytest.raises(SimulatedCrash):
        decide(stack.deps, action_id=action.id, decision="approve", slack_user_id=REP_ID)
    _after_the_crash(stack)

    assert mailbox.calls == 1
    (request,) = stack.rows(SchedulingRequest)
    assert request.status == RequestStatus.awaiting_response
    assert request.next_action_at is not None
    _assert_nothing_stuck(stack)


@pytest.mark.parametrize("decision", ["reject", "undo"])
@pytest.mark.parametrize("point", ["outbox.decided", "runner.resumed"])
def test_a_crash_right_after_reject_or_undo_moves_the_request_on(
    stack: Stack, mailbox: CountingMailbox, decision: str, point: str
) -> None:
    action = _card_waiting(stack)
    if decision == "undo":
        assert decide(stack.deps, action_id=action.id, decision="approve", slack_user_id=REP_ID).ok
    with armed(point), pytest.raises(SimulatedCrash):
        decide(stack.deps, action_id=action.id, decision=decision, slack_user_id=REP_ID)
    (parked,) = stack.rows(SequenceJob)
    assert parked.status in (JobStatus.waiting_approval, JobStatus.queued)
    _after_the_crash(stack)

    assert mailbox.calls == 0
    (action,) = stack.rows(PendingAction)
    assert action.status == {"reject": "rejected", "undo": "cancelled"}[decision]
    (request,) = stack.rows(SchedulingRequest)
    assert request.status == RequestStatus.paused  # "nothing was sent", said on the request
    (job,) = stack.rows(SequenceJob)
    assert job.status == JobStatus.done
    assert job.steps_completed[-1] == "record_sent"
    _assert_nothing_stuck(stack)


@pytest.mark.parametrize("point", ["runner.leased", "runner.step_ran", "runner.step_committed"])
def test_a_crash_while_drafting_still_brings_exactly_one_card(stack: Stack, point: str) -> None:
    with armed(point):
        stack.schedule(f"demo with {PROSPECT}")
        stack.drain()
    _after_the_crash(stack)

    (job,) = stack.rows(SequenceJob)
    assert job.status == JobStatus.waiting_approval
    assert job.steps_completed == ["find_slots", "draft_initial_email"]
    (action,) = stack.rows(PendingAction)
    assert action.status == ActionStatus.pending and action.slack_ts is not None
    assert len(stack.cards()) == 1


def test_a_parked_job_whose_actions_are_all_decided_is_resumed(stack: Stack) -> None:
    """The repair on its own: the state a lost resume leaves, and nothing else to go on."""
    action = _card_waiting(stack)
    with stack.deps.uow() as uow:
        row = uow.session.get_one(PendingAction, action.id)
        row.status = ActionStatus.rejected
        uow.session.add(row)
        uow.commit()
    assert reconcile(stack.deps).resumed == 1
    stack.drain()
    (job,) = stack.rows(SequenceJob)
    assert job.status == JobStatus.done
    assert reconcile(stack.deps).resumed == 0


# --- the hook itself ---------------------------------------------------------------------------


@pytest.fixture
def environment() -> Iterator[None]:
    yield
    load_environment("")


def test_an_unarmed_point_does_nothing() -> None:
    crashpoint("outbox.finished")


def test_an_armed_point_fires_once() -> None:
    with armed("outbox.finished"):
        with pytest.raises(SimulatedCrash):
            crashpoint("outbox.finished")
        crashpoint("outbox.finished")


def test_only_known_points_can_be_armed(environment: None) -> None:
    with pytest.raises(ValueError, match="no crash point"), armed("outbox.typo"):
        pass
    with pytest.raises(ValueError, match="CONVENE_CRASH_AT"):
        load_environment("outbox.typo")


def test_the_environment_arms_points_with_a_rate(environment: None) -> None:
    assert load_environment(" outbox.claimed:0.25, runner.leased ") == {
        "outbox.claimed": 0.25,
        "runner.leased": 1.0,
    }
    load_environment("outbox.claimed:0")
    crashpoint("outbox.claimed")  # a rate of 0 never fires


def test_stop_freezes_the_process_at_the_point_until_sigcont() -> None:
    """`name:stop` holds a real process still there (state T) until it is continued."""
    code = (
        "from orchestrator.engine.crashpoints import crashpoint\n"
        "print('before', flush=True)\n"
        "crashpoint('outbox.claimed')\n"
        "print('after', flush=True)\n"
    )
    env = {**os.environ, "CONVENE_CRASH_AT": "outbox.claimed:stop"}
    proc = subprocess.Popen(
        [sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "before"
        deadline = time.monotonic() + 10
        while _state(proc.pid) != "T":
            assert time.monotonic() < deadline, "the process never stopped itself"
            time.sleep(0.02)
        time.sleep(0.2)
        assert proc.poll() is None and _state(proc.pid) == "T"  # still held
        os.kill(proc.pid, signal.SIGCONT)
        out, _ = proc.communicate(timeout=10)
        assert out.strip() == "after" and proc.returncode == 0
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGCONT)
            proc.kill()


def _state(pid: int) -> str:
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()[0]
