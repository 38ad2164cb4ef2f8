"""The reconciler re-wakes what is lost, not what is merely late: a job whose wake-up still waits
in the queue (the workers are behind) gets no second one, a lost one gets one however many
ticks find it, and a job lost again in a new state gets a new one."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import col

from db.models import JobStatus, PendingAction, SequenceJob
from orchestrator.engine.crashpoints import armed
from orchestrator.timers.reconciler import reconcile
from orchestrator.timers.tick import tick
from tests.support.stack import Stack

PROSPECT = "john@acme.example"


def _job(stack: Stack) -> SequenceJob:
    (job,) = stack.rows(SequenceJob)
    return job


def _done_once(stack: Stack) -> None:
    job = _job(stack)
    assert job.status == JobStatus.waiting_approval
    assert job.steps_completed == ["find_slots", "draft_initial_email"]
    assert len(stack.rows(PendingAction, col(PendingAction.job_id) == job.id)) == 1
    assert len(stack.cards()) == 1


def test_a_late_job_whose_wake_up_still_waits_gets_no_second_one(stack: Stack) -> None:
    stack.schedule(f"demo with {PROSPECT}")  # its wake-up waits: no worker has run yet
    waiting = stack.deps.queue.job_ids
    assert len(waiting) == 1
    stack.clock.advance(timedelta(minutes=10))  # the workers are far behind
    for _ in range(3):
        tick(stack.deps)
    # The ticks also queue the rep's mailbox read, once: that one waits too.
    wake_ups = [i for i in stack.deps.queue.job_ids if not i.startswith("mail-")]
    reads = [i for i in stack.deps.queue.job_ids if i.startswith("mail-")]
    assert wake_ups == waiting
    assert len(reads) == 1
    stack.drain()
    _done_once(stack)


def test_a_lost_wake_up_is_replaced_once_however_many_ticks_find_it(stack: Stack) -> None:
    stack.schedule(f"demo with {PROSPECT}")
    stack.deps.queue.empty()  # Redis lost it
    stack.clock.advance(timedelta(minutes=2))
    assert reconcile(stack.deps).jobs == 1
    for _ in range(3):
        assert reconcile(stack.deps).jobs == 0
    (rewoken,) = stack.deps.queue.job_ids
    assert rewoken.startswith(f"step-{_job(stack).id}-late-")
    stack.drain()
    _done_once(stack)


def _crash_mid_step(stack: Stack) -> None:
    with armed("runner.step_ran"):
        stack.drain()  # the worker "dies" with the step run and nothing of it committed
    job = _job(stack)
    assert job.status == JobStatus.running and job.steps_completed == []
    stack.clock.advance(timedelta(seconds=stack.deps.settings.step_lease_seconds + 1))


def test_a_job_lost_again_in_a_new_state_gets_a_new_wake_up(stack: Stack) -> None:
    stack.schedule(f"demo with {PROSPECT}")
    _crash_mid_step(stack)
    assert reconcile(stack.deps).jobs == 1
    (first,) = stack.deps.queue.job_ids
    assert reconcile(stack.deps).jobs == 0

    _crash_mid_step(stack)  # the re-woken run dies too: a new lease, lost again
    assert _job(stack).attempts == 2
    assert reconcile(stack.deps).jobs == 1
    (second,) = stack.deps.queue.job_ids
    assert second != first
    stack.drain()
    _done_once(stack)
