"""Health: `/readyz` for probes, findings posted once to the ops channel, `doctor --health`."""

from __future__ import annotations

import dataclasses
import json
import urllib.error
import urllib.request
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from rq import Queue, Worker
from typer.testing import CliRunner

from db.models import (
    ActionStatus,
    EmailMessage,
    JobStatus,
    PendingAction,
    Rep,
    RequestStatus,
    SchedulingRequest,
    SequenceJob,
)
from orchestrator.cli import app
from orchestrator.deps import Deps
from orchestrator.health import find_problems, readiness, report_if_due
from orchestrator.timers.tick import tick
from tests.support.stack import Stack

OPS = "C0OPS"


def get(stack: Stack, path: str) -> tuple[int, dict[str, object]]:
    url = stack.events_url.replace("/slack/events", path)
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def with_settings(deps: Deps, **changes: object) -> Deps:
    return dataclasses.replace(deps, settings=deps.settings.model_copy(update=changes))


def test_readyz_waits_for_a_clock_tick_and_healthz_does_not(stack: Stack) -> None:
    assert get(stack, "/healthz")[0] == 200
    status, body = get(stack, "/readyz")
    assert status == 503
    assert body == {
        "ok": False,
        "database": "ok",
        "clock": "no recent tick",
        "redis": "ok",
        "worker": "ok",
        "schema": "ok",
    }
    tick(stack.deps)
    assert get(stack, "/readyz") == (
        200,
        {
            "ok": True,
            "database": "ok",
            "clock": "ok",
            "redis": "ok",
            "worker": "ok",
            "schema": "ok",
        },
    )
    stack.clock.advance(timedelta(minutes=10))  # the clock stopped ticking
    assert get(stack, "/readyz")[1]["clock"] == "no recent tick"


def test_readiness_wants_a_registered_worker_when_redis_is_used(stack: Stack) -> None:
    tick(stack.deps)
    deps = with_settings(stack.deps, redis_url="redis://queue.internal:6379/0")
    ready, checks = readiness(deps)
    assert not ready and checks["worker"] == "no worker registered"
    worker = Worker([Queue("convene", connection=deps.redis)], connection=deps.redis)
    worker.register_birth()
    try:
        assert readiness(deps) == (
            True,
            {"database": "ok", "clock": "ok", "redis": "ok", "worker": "ok", "schema": "ok"},
        )
    finally:
        worker.register_death()


def seed_trouble(stack: Stack) -> dict[str, uuid.UUID]:
    """One of each thing an on-call engineer should hear about."""
    now = stack.clock.now()
    long_ago = now - timedelta(hours=30)
    with stack.deps.uow() as uow:
        rep = Rep(org_id="T1", slack_user_id="U9", email="rita@x.example", created_at=now)
        uow.session.add(rep)
        uow.session.flush()
        stale = SchedulingRequest(
            org_id="T1",
            rep_id=rep.id,
            ref="STALE-1",
            status=RequestStatus.awaiting_response,
            created_at=long_ago,
            updated_at=long_ago,
        )
        moving = SchedulingRequest(
            org_id="T1",
            rep_id=rep.id,
            ref="MOVING-1",
            status=RequestStatus.awaiting_response,
            next_action_at=now + timedelta(hours=5),
            created_at=long_ago,
            updated_at=long_ago,
        )
        uow.session.add_all([stale, moving])
        uow.session.flush()
        failed = PendingAction(
            org_id="T1",
            rep_id=rep.id,
            request_id=moving.id,
            action_type="email_follow_up",
            status=ActionStatus.failed,
            error="smtp: 550 mailbox unavailable",
            idempotency_key="failed-1",
            created_at=now,
            updated_at=now,
        )
        job = SequenceJob(
            org_id="T1",
            request_id=moving.id,
            event_type="reply_received",
            event_source="test",
            idempotency_key="job-1",
            correlation_id="c",
            status=JobStatus.failed,
            attempts=5,
            last_error="boom",
            run_after=now,
            created_at=now,
            updated_at=now,
        )
        unthreaded = EmailMessage(
            org_id="T1",
            request_id=moving.id,
            direction="outbound",
            message_id="<m1@convene>",
            sender="rita@x.example",
            status="sent",
            created_at=now,
        )
        uow.session.add_all([failed, job, unthreaded])
        uow.commit()
        return {"stale": stale.id, "failed": failed.id, "job": job.id, "email": unthreaded.id}


def test_each_finding_is_posted_once_to_the_ops_channel(stack: Stack) -> None:
    ids = seed_trouble(stack)
    deps = with_settings(stack.deps, ops_channel=OPS)
    # The clock's tick beats its heartbeat first, so the clock itself is not a finding.
    assert tick(deps).ops_findings == 4
    posted = sorted(m.text for m in stack.slack.messages if m.channel == OPS)
    assert posted == sorted(
        [
            f":rotating_light: email_follow_up {ids['failed']} failed: smtp: 550 mailbox "
            "unavailable",
            f":rotating_light: reply_received job {ids['job']} failed after 5 attempt(s): boom",
            ":rotating_light: Request STALE-1 (awaiting_response) has not moved for 24h and has "
            "no wake-up or open card.",
            ":rotating_light: Sent email <m1@convene> has no thread id: replies to it may not "
            "be matched.",
        ]
    )
    stack.clock.advance(timedelta(minutes=5))
    assert report_if_due(deps) == 0  # not due yet
    stack.clock.advance(timedelta(minutes=6))
    assert tick(deps).ops_findings == 0  # due, but nothing new
    assert len([m for m in stack.slack.messages if m.channel == OPS]) == 4


def test_a_rising_send_failure_rate_and_a_dead_clock_are_findings(stack: Stack) -> None:
    now = stack.clock.now()
    with stack.deps.uow() as uow:
        rep = Rep(org_id="T1", slack_user_id="U9", email="rita@x.example", created_at=now)
        uow.session.add(rep)
        uow.session.flush()
        for n in range(6):
            uow.session.add(
                PendingAction(
                    org_id="T1",
                    rep_id=rep.id,
                    action_type="email_initial",
                    status=ActionStatus.failed if n < 2 else ActionStatus.executed,
                    idempotency_key=f"send-{n}",
                    created_at=now,
                    updated_at=now,
                )
            )
        uow.commit()
    texts = [f.text for f in find_problems(stack.deps)]
    assert "2 of 6 sends in the last hour failed: check the mail and calendar providers." in texts
    assert "No clock tick recently: is `convene clock` running?" in texts
    deps = with_settings(stack.deps, redis_url="redis://queue.internal:6379/0")
    assert any(t.startswith("No worker registered") for t in (f.text for f in find_problems(deps)))


def test_a_failed_post_is_tried_again(stack: Stack) -> None:
    seed_trouble(stack)
    deps = with_settings(stack.deps, ops_channel=OPS)
    stack.slack.rate_limited_calls = 100  # every post refused
    assert tick(deps).ops_findings == 0
    stack.slack.rate_limited_calls = 0
    stack.clock.advance(timedelta(minutes=11))
    assert tick(deps).ops_findings == 4


@pytest.mark.parametrize("ticked", [False, True])
def test_doctor_health_lists_findings(tmp_path: Path, ticked: bool) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "REDIS_URL": ""}
    assert CliRunner().invoke(app, ["db", "upgrade"], env=env).exit_code == 0
    if ticked:
        assert CliRunner().invoke(app, ["clock", "--once"], env=env).exit_code == 0
    result = CliRunner().invoke(app, ["doctor", "--health"], env=env)
    if ticked:
        assert result.exit_code == 0, result.output
        assert result.output.strip().endswith("healthy")
    else:
        assert result.exit_code == 1
        assert "clock         no recent tick" in result.output
        assert "  FINDING: No clock tick recently: is `convene clock` running?" in result.output
