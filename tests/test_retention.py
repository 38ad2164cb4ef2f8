"""Retention: the clock prunes what has outlived its age, and nothing a live request or a
health check still reads; idle clock ticks stay out of INFO logs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import col

from db.models import (
    EmailMessage,
    JobRun,
    LLMUsage,
    Rep,
    RequestStatus,
    SchedulingAction,
    SchedulingRequest,
)
from orchestrator.engine import processes
from orchestrator.timers.retention import prune_if_due
from orchestrator.timers.tick import tick
from tests.support.stack import Stack

DAY = timedelta(days=1)


def add_request(stack: Stack, ref: str, status: RequestStatus) -> SchedulingRequest:
    now = stack.clock.now()
    with stack.deps.uow() as uow:
        rep = uow.session.get(Rep, stack.rows(Rep)[0].id) if stack.rows(Rep) else None
        if rep is None:
            rep = Rep(org_id="T1", slack_user_id="U1", email="rita@x.example", created_at=now)
            uow.session.add(rep)
            uow.session.flush()
        request = SchedulingRequest(
            org_id="T1", rep_id=rep.id, ref=ref, status=status, created_at=now, updated_at=now
        )
        uow.session.add(request)
        uow.commit()
        return request


def audit(stack: Stack, request: SchedulingRequest, age: timedelta) -> None:
    with stack.deps.uow() as uow:
        uow.session.add(
            SchedulingAction(
                org_id="T1",
                request_id=request.id,
                action_type=f"aged_{age.days}",
                actor="system",
                created_at=stack.clock.now() - age,
            )
        )
        uow.commit()


def email(stack: Stack, request: SchedulingRequest, age: timedelta, message_id: str) -> None:
    with stack.deps.uow() as uow:
        uow.session.add(
            EmailMessage(
                org_id="T1",
                request_id=request.id,
                direction="outbound",
                message_id=message_id,
                sender="rita@x.example",
                body_text="Would Tuesday at 9 work?",
                created_at=stack.clock.now() - age,
            )
        )
        uow.commit()


def job_run(stack: Stack, name: str, age: timedelta) -> None:
    with stack.deps.uow() as uow:
        uow.session.add(JobRun(name=name, started_at=stack.clock.now() - age))
        uow.commit()


def usage(stack: Stack, age: timedelta) -> None:
    with stack.deps.uow() as uow:
        uow.session.add(
            LLMUsage(
                org_id="T1", model="m", purpose=f"p{age.days}", created_at=stack.clock.now() - age
            )
        )
        uow.commit()


def test_old_rows_go_and_live_ones_stay(stack: Stack) -> None:
    settings = stack.deps.settings
    done = add_request(stack, "DONE-1", RequestStatus.completed)
    live = add_request(stack, "LIVE-1", RequestStatus.awaiting_response)
    old_audit = DAY * (settings.retention_audit_days + 1)
    audit(stack, done, old_audit)
    audit(stack, done, DAY)
    audit(stack, live, old_audit)
    old_mail = DAY * (settings.retention_mail_body_days + 1)
    email(stack, done, old_mail, "<done-old@convene>")
    email(stack, done, DAY, "<done-new@convene>")
    email(stack, live, old_mail, "<live-old@convene>")
    old_runs = DAY * (settings.retention_job_runs_days + 1)
    job_run(stack, "dispatch_due", old_runs + DAY)
    job_run(stack, "dispatch_due", old_runs)
    job_run(stack, "dispatch_due", DAY)
    job_run(stack, "brief_sweep", old_runs)  # the only run of its name: a check reads it
    usage(stack, DAY * (settings.retention_llm_usage_days + 1))
    usage(stack, DAY * 20)

    counts = prune_if_due(stack.deps)

    assert counts == {
        "job_runs": 2,
        "audit_rows": 1,
        "llm_usage": 1,
        "mail_bodies": 1,
        "webhook_deliveries": 0,
    }
    assert sorted(
        (a.request_id == live.id, a.action_type) for a in stack.rows(SchedulingAction)
    ) == [(False, "aged_1"), (True, f"aged_{old_audit.days}")]
    bodies = {m.message_id: m.body_text for m in stack.rows(EmailMessage)}
    assert bodies == {
        "<done-old@convene>": "",  # the row (and its Message-ID) stays for threading
        "<done-new@convene>": "Would Tuesday at 9 work?",
        "<live-old@convene>": "Would Tuesday at 9 work?",
    }
    runs = sorted(
        (r.name, (stack.clock.now() - r.started_at).days)
        for r in stack.rows(JobRun, col(JobRun.name) != "retention")
    )
    assert runs == [("brief_sweep", old_runs.days), ("dispatch_due", 1)]
    assert [u.purpose for u in stack.rows(LLMUsage)] == ["p20"]


def test_pruning_runs_at_most_hourly(stack: Stack) -> None:
    assert prune_if_due(stack.deps) == {
        "job_runs": 0,
        "audit_rows": 0,
        "llm_usage": 0,
        "mail_bodies": 0,
        "webhook_deliveries": 0,
    }
    usage(stack, DAY * 1000)
    stack.clock.advance(timedelta(minutes=59))
    assert prune_if_due(stack.deps) == {}
    assert len(stack.rows(LLMUsage)) == 1
    stack.clock.advance(timedelta(minutes=2))
    assert prune_if_due(stack.deps)["llm_usage"] == 1


def test_the_clock_prunes_as_part_of_its_tick(stack: Stack) -> None:
    usage(stack, DAY * 1000)
    report = tick(stack.deps)
    assert report.pruned["llm_usage"] == 1
    assert "pruned_llm_usage=1" in report.line()
    assert not report.idle
    assert tick(stack.deps).idle  # the next tick finds nothing, prunes nothing


class _Stop(Exception):
    pass


def test_idle_ticks_are_not_printed_busy_ones_are(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    echoed: list[str] = []
    ticks = iter([False, True])  # first tick: something to prune; second: idle

    def sleep(_seconds: float) -> None:
        if next(ticks):
            raise _Stop

    usage(stack, DAY * 1000)
    monkeypatch.setattr(processes.time, "sleep", sleep)
    with pytest.raises(_Stop):
        processes.run_clock(stack.deps, once=False, echo=echoed.append)
    assert len(echoed) == 1 and "pruned_llm_usage=1" in echoed[0]
