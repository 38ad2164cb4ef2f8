"""`/metrics`: scraped over HTTP after a real conversation and parsed with prometheus-client's
own parser, so the exposition format and the numbers are both checked."""

from __future__ import annotations

import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import select

from db.models import LLMUsage, RequestOutcome, SchedulingRequest
from orchestrator import metrics
from orchestrator.timers.tick import tick
from tests.support.conversation.expectations import expect_booked, expect_status
from tests.support.conversation.prospect_mail import prospect_replies
from tests.support.conversation.rep_slack import rep_approves, rep_edits, rep_schedules
from tests.support.conversation.script import conversation, play
from tests.support.conversation.times import Offered
from tests.support.conversation.world import PROSPECT
from tests.support.stack import Stack


def scrape(stack: Stack) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    url = stack.events_url.replace("/slack/events", "/metrics")
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = response.read().decode()
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def test_metrics_count_what_happened(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(metrics, "CACHE_SECONDS", 0.0)  # each scrape reads the database again
    play(
        conversation(
            "measured",
            rep_schedules(f"demo with {PROSPECT} next week 45m"),
            rep_approves("email_initial"),
            prospect_replies("Tuesday works for me."),
            rep_approves("calendar_book"),
            expect_booked(Offered(2), attendees=[PROSPECT]),
            rep_edits("email_confirmation", subject="Demo: confirmed", body="See you then."),
            rep_approves("email_confirmation"),
            expect_status("confirmed"),
        ),
        stack,
    )
    with stack.deps.uow() as uow:
        uow.session.add(
            LLMUsage(
                org_id="T1",
                model="gpt-x",
                purpose="intent",
                cost_usd=0.25,
                created_at=stack.clock.now(),
            )
        )
        uow.commit()
    tick(stack.deps)
    s = scrape(stack)
    assert s[("convene_requests", (("status", "confirmed"),))] == 1
    for action_type in ("email_initial", "calendar_book", "email_confirmation"):
        key = ("convene_actions_total", (("action_type", action_type), ("status", "executed")))
        assert s[key] == 1, action_type
    assert s[("convene_actions_edited_total", (("action_type", "email_confirmation"),))] == 1
    # Unedited drafts store JSON null: they are not counted as edited.
    assert ("convene_actions_edited_total", (("action_type", "email_initial"),)) not in s
    assert s[("convene_audit_events_total", (("kind", "action_approve"),))] == 3
    assert s[("convene_model_calls_total", (("model", "gpt-x"), ("purpose", "intent")))] == 1
    assert s[("convene_model_cost_usd_total", (("model", "gpt-x"),))] == 0.25
    assert s[("convene_time_to_booking_seconds_count", ())] == 1
    assert s[("convene_time_to_booking_seconds_sum", ())] > 0
    assert s[("convene_queue_depth", ())] >= 0
    tick_at = s[("convene_clock_last_tick_timestamp_seconds", ())]
    assert tick_at == stack.clock.now().timestamp()


def test_outcomes_are_counted_in_the_vocabulary(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(metrics, "CACHE_SECONDS", 0.0)
    stack.schedule(f"demo with {PROSPECT} next week")
    s = scrape(stack)
    for outcome in RequestOutcome:  # every series is there before anything ended
        assert s[("convene_request_outcomes_total", (("outcome", outcome.value),))] == 0
    with stack.deps.uow() as uow:
        (request,) = uow.session.exec(select(SchedulingRequest)).all()
        request.outcome = "cancelled"  # as rows written before the vocabulary say it
        uow.session.add(request)
        uow.commit()
    s = scrape(stack)
    assert s[("convene_request_outcomes_total", (("outcome", "cancelled_by_rep"),))] == 1
    assert ("convene_request_outcomes_total", (("outcome", "cancelled"),)) not in s


def test_a_scrape_is_cached_briefly(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(metrics, "CACHE_SECONDS", 3600.0)
    first = scrape(stack)
    stack.schedule(f"demo with {PROSPECT} next week")
    assert scrape(stack) == first
    monkeypatch.setattr(metrics, "CACHE_SECONDS", 0.0)
    assert scrape(stack) != first
