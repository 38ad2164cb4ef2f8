"""Outbound webhooks, against real HTTPS receivers on 127.0.0.1: registered by a workspace
admin in Slack, recorded with the change that caused them, delivered by the worker once,
signed, retried in order per request while a receiver is down, and logged where the admin
looks."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from redis import Redis

from connectors.clock import ManualClock
from db.models import (
    ActionType,
    RequestStatus,
    SchedulingRequest,
    SchedulingTemplate,
    WebhookDelivery,
    WebhookStatus,
    WebhookSubscription,
)
from orchestrator.commands import own_requests
from orchestrator.engine.crashpoints import armed
from orchestrator.metrics import registry_for, render
from orchestrator.timers.retention import prune_if_due
from orchestrator.webhooks.deliver import deliver
from orchestrator.webhooks.events import WebhookEvent, record_event
from tests.fakes.tls import ca_file
from tests.fakes.webhook_receiver import Received, WebhookReceiver
from tests.support.stack import ADMIN_ID, REP_ID, Stack, wait_for
from tests.test_follow_ups import approve_and_send
from tests.test_meeting_lifecycle import (
    PROSPECT,
    approve,
    book_meeting,
    end_of_meeting_check,
    propose_move,
    the_request,
)

README = Path(__file__).resolve().parents[1] / "README.md"
Verifier = Callable[..., bool]


@pytest.fixture
def hooks(backend: tuple[str, Redis], clock: ManualClock) -> Iterator[Stack]:
    url, redis = backend
    with Stack.start(
        database_url=url,
        redis=redis,
        clock=clock,
        webhook_ca_file=str(ca_file()),
        webhook_timeout_seconds=1.5,
        webhook_max_attempts=4,
    ) as running:
        yield running


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    running = WebhookReceiver()
    yield running
    running.close()


def readme_verifier() -> Verifier:
    """The receivers' check exactly as the README prints it."""
    section = README.read_text().split("## Webhooks for your CRM", 1)[1]
    code = next(b for b in re.findall(r"```python\n(.*?)```", section, re.S) if "def verify" in b)
    scope: dict[str, object] = {}
    exec(code, scope)  # noqa: S102 - our own README's snippet
    return scope["verify"]  # type: ignore[return-value]


def slash(stack: Stack, text: str, *, user: str = ADMIN_ID) -> str:
    reply = stack.command(f"webhooks {text}".strip(), user=user)
    assert reply.status == 200 and not reply.body
    return stack.command_response(reply)


def register(stack: Stack, url: str, events: str = "") -> str:
    """The signing secret `add` shows once."""
    said = slash(stack, f"add {url} {events}")
    found = re.search(r"`(whsec_[0-9a-f]+)`", said)
    assert found, said
    return found.group(1)


def start(stack: Stack, who: str = "john@acme.example") -> SchedulingRequest:
    stack.schedule(f"demo with {who}")
    stack.drain()
    return max(stack.rows(SchedulingRequest), key=lambda r: r.created_at)


def by_ref(stack: Stack, ref: str) -> SchedulingRequest:
    (request,) = stack.rows(SchedulingRequest, SchedulingRequest.ref == ref)
    return request


def cancel(stack: Stack, ref: str) -> None:
    said = own_requests.cancel(
        stack.deps, org_id=stack.slack.team_id, ref=ref, slack_user_id=REP_ID
    )
    assert said.ok, said.message


def record(stack: Stack, ref: str, event: WebhookEvent, occurrence: str) -> None:
    """An event recorded as the steps record theirs: in a transaction of its own."""
    with stack.deps.uow() as uow:
        request = uow.session.get_one(SchedulingRequest, by_ref(stack, ref).id)
        record_event(uow.session, request, event, now=stack.clock.now(), occurrence=occurrence)
        uow.commit()


def later(stack: Stack, minutes: float) -> None:
    stack.clock.advance(timedelta(minutes=minutes))
    stack.tick()


def bodies(received: list[Received]) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(r.body) for r in received]


def test_an_event_is_delivered_once_after_the_change_signed_as_the_readme_says(
    hooks: Stack, receiver: WebhookReceiver
) -> None:
    secret = register(hooks, receiver.url, "cancelled")
    start(hooks)
    cancel(hooks, "ACME-1")
    # Recorded with the cancel, sent by the worker: nothing went out from the command itself.
    (row,) = hooks.rows(WebhookDelivery)
    assert row.status == WebhookStatus.pending and receiver.received == []

    hooks.tick()
    (got,) = receiver.deliveries()
    verify = readme_verifier()
    now = hooks.clock.now().timestamp()
    header = got.headers["convene-signature"]
    assert verify(secret, got.body, header, now=now)
    assert not verify("whsec_" + "0" * 48, got.body, header, now=now)
    assert not verify(secret, got.body.replace(b"ACME-1", b"ACME-2"), header, now=now)
    assert not verify(secret, got.body, header, now=now + 3600)  # a replay an hour later
    body = json.loads(got.body)
    assert body["id"] == got.headers["convene-delivery-id"] == row.delivery_id
    assert body["type"] == "cancelled" and body["outcome"] == "cancelled_by_rep"
    assert body["request"]["ref"] == "ACME-1" and body["request"]["status"] == "cancelled"
    assert "john@acme.example" in [a["email"] for a in body["attendees"]]
    assert body["occurred_at"] == hooks.clock.now().isoformat()

    later(hooks, 120)
    assert len(receiver.received) == 1
    (row,) = hooks.rows(WebhookDelivery)
    assert row.status == WebhookStatus.delivered and row.attempts == 1
    assert row.last_status_code == 204 and row.last_error is None


def test_a_receiver_down_for_a_while_gets_every_event_in_order_per_request(
    hooks: Stack, receiver: WebhookReceiver
) -> None:
    register(hooks, receiver.url)
    start(hooks)
    start(hooks, "ann@globex.example")
    receiver.answer(503, body=b"maintenance")
    record(hooks, "ACME-1", WebhookEvent.booked, "2026-12-03T15:00:00+00:00")
    record(hooks, "ACME-1", WebhookEvent.moved, "2026-12-04T15:00:00+00:00")
    cancel(hooks, "ACME-1")
    cancel(hooks, "GLOBEX-1")

    hooks.tick()
    # The first of each request was tried; ACME-1's later events wait behind its booking.
    tried = [
        json.loads(r.body)["request"]["ref"] + " " + json.loads(r.body)["type"]
        for r in receiver.received
    ]
    assert sorted(tried) == ["ACME-1 booked", "GLOBEX-1 cancelled"]

    receiver.down()  # now connections are refused
    later(hooks, 1)
    later(hooks, 2)
    assert len(receiver.received) == 2  # nothing reached it
    failing = hooks.rows(WebhookDelivery, WebhookDelivery.event_type == "booked")[0]
    assert failing.status == WebhookStatus.pending and failing.attempts == 3
    assert failing.last_status_code is None and "Refused" in (failing.last_error or "")

    receiver.up()
    receiver.answer(200)
    for _ in range(3):
        later(hooks, 10)
    delivered = bodies(receiver.deliveries())
    acme = [b["type"] for b in delivered if b["request"]["ref"] == "ACME-1"]
    assert acme == ["booked", "moved", "cancelled"]
    assert [b["type"] for b in delivered if b["request"]["ref"] == "GLOBEX-1"] == ["cancelled"]
    assert len({b["id"] for b in delivered}) == 4
    rows = hooks.rows(WebhookDelivery)
    assert {r.status for r in rows} == {WebhookStatus.delivered}


def test_the_same_event_recorded_or_woken_twice_is_delivered_once(
    hooks: Stack, receiver: WebhookReceiver
) -> None:
    register(hooks, receiver.url)
    start(hooks)
    # Two paths see the same move (the executed update and the step that records it).
    record(hooks, "ACME-1", WebhookEvent.moved, "2026-12-04T15:00:00+00:00")
    record(hooks, "ACME-1", WebhookEvent.moved, "2026-12-04T15:00:00+00:00")
    (row,) = hooks.rows(WebhookDelivery)
    assert row.seq is not None
    # Wake-ups queued twice for it, and a worker that runs it again afterwards.
    assert hooks.deps.wakeups.deliver_webhook(row.seq, version="a")
    assert hooks.deps.wakeups.deliver_webhook(row.seq, version="b")
    hooks.tick()
    assert deliver(hooks.deps, row.seq) == "skipped"
    later(hooks, 60)
    assert len(receiver.received) == 1
    assert json.loads(receiver.received[0].body)["type"] == "moved"


def test_failures_show_in_the_admins_delivery_log(hooks: Stack, receiver: WebhookReceiver) -> None:
    register(hooks, receiver.url, "cancelled,gave_up")
    assert "No webhooks yet" not in slash(hooks, "")
    start(hooks)
    receiver.answer(500, body=b"crm exploded")
    cancel(hooks, "ACME-1")
    hooks.tick()
    log = slash(hooks, "")
    assert "*Last failures*" in log
    assert "cancelled ACME-1" in log and "retrying (1 attempt so far)" in log
    for _ in range(4):
        later(hooks, 30)
    (row,) = hooks.rows(WebhookDelivery)
    assert row.status == WebhookStatus.failed and row.attempts == 4
    assert len(receiver.received) == 4
    scraped = render(registry_for(hooks.deps)).decode()
    assert 'convene_webhook_deliveries{event_type="cancelled",status="failed"} 1.0' in scraped
    log = slash(hooks, "")
    assert f"`{row.delivery_id}` cancelled ACME-1" in log
    assert "gave up after 4 attempts, last HTTP 500: HTTP 500: crm exploded" in log

    # Removing the endpoint: nothing more is recorded for it, and it leaves the list.
    (subscription,) = hooks.rows(WebhookSubscription)
    name = "wh_" + subscription.id.hex[:8]
    assert slash(hooks, f"remove {name}") == f"Removed `{name}`; nothing more goes to it."
    start(hooks, "ann@globex.example")
    cancel(hooks, "GLOBEX-1")
    assert len(hooks.rows(WebhookDelivery)) == 1
    assert name not in slash(hooks, "").split("*Last failures*")[0]


def test_a_rep_who_is_not_a_workspace_admin_is_refused(hooks: Stack) -> None:
    for text in ("", "add https://crm.example.com/hook", "remove wh_00000000"):
        said = slash(hooks, text, user=REP_ID)
        assert said.startswith(":no_entry: Only a Slack workspace admin or owner")
    assert hooks.rows(WebhookSubscription) == []
    assert "No webhooks yet" in slash(hooks, "")  # the admin may


@pytest.mark.parametrize(
    ("typed", "why"),
    [
        ("http://crm.example.com/hook", "must start with `https://`"),
        ("ftp://crm.example.com/hook", "must start with `https://`"),
        ("crm.example.com/hook", "must start with `https://`"),
        ("https:///hook", "has no host name"),
        ("https://crm.example.com:99999/hook", "is not a URL I can read"),
        ("https://admin:pw@crm.example.com/hook", "Leave the login out"),
        ("https://crm.example.com/hook#x", "`#fragment`"),
        ("https://crm.example.com/hook booked sold", "Unknown event `sold`"),
        ("", "Which URL?"),
    ],
)
def test_a_bad_url_or_event_is_refused_with_the_reason(hooks: Stack, typed: str, why: str) -> None:
    said = slash(hooks, f"add {typed}")
    assert said.startswith(":warning:") and why in said, said
    assert hooks.rows(WebhookSubscription) == []


def test_slack_wrapped_links_are_read_and_events_default_to_all(hooks: Stack) -> None:
    said = slash(hooks, "add <https://crm.example.com/hook|crm.example.com/hook>")
    assert "https://crm.example.com/hook will get booked, moved, held, no_show" in said
    (subscription,) = hooks.rows(WebhookSubscription)
    assert subscription.url == "https://crm.example.com/hook"
    assert subscription.events == [e.value for e in WebhookEvent]


def test_a_slow_flooding_or_redirecting_receiver_holds_up_no_one_else(
    hooks: Stack, receiver: WebhookReceiver
) -> None:
    slow, flood, bounce = WebhookReceiver(), WebhookReceiver(), WebhookReceiver()
    try:
        for url in (slow.url, flood.url, bounce.url, receiver.url):
            register(hooks, url, "cancelled")
        slow.answer(200, delay=6)
        flood.answer(200, body=b"x" * 4_000_000)
        bounce.answer(302, headers={"Location": receiver.url})
        start(hooks)
        cancel(hooks, "ACME-1")
        began = time.monotonic()
        hooks.tick()
        assert time.monotonic() - began < 5  # the slow one got its timeout, not its 6 s
        assert len(receiver.received) == 1  # its own, never the redirected one
        assert len(flood.deliveries()) == 1
        rows = {r.subscription_id: r for r in hooks.rows(WebhookDelivery)}
        subs = {s.url: s.id for s in hooks.rows(WebhookSubscription)}
        assert rows[subs[receiver.url]].status == WebhookStatus.delivered
        assert rows[subs[flood.url]].status == WebhookStatus.delivered
        assert rows[subs[bounce.url]].status == WebhookStatus.pending
        assert rows[subs[bounce.url]].last_status_code == 302
        assert rows[subs[slow.url]].status == WebhookStatus.pending
        assert "webhook timeout" in (rows[subs[slow.url]].last_error or "") or "timed out" in (
            rows[subs[slow.url]].last_error or ""
        )
    finally:
        for extra in (slow, flood, bounce):
            extra.close()


def test_meeting_answers_are_told_with_the_meetings_time(
    hooks: Stack, receiver: WebhookReceiver
) -> None:
    register(hooks, receiver.url, "held")
    request = start(hooks)
    begins = hooks.clock.now() + timedelta(days=1)
    with hooks.deps.uow() as uow:
        row = uow.session.get_one(SchedulingRequest, request.id)
        row.status = RequestStatus.confirmed
        row.meeting_start, row.meeting_end = begins, begins + timedelta(minutes=30)
        uow.session.add(row)
        uow.commit()
    hooks.clock.advance(timedelta(days=1, hours=1))
    answered = own_requests.answer_meeting(
        hooks.deps,
        org_id=hooks.slack.team_id,
        request_id=request.id,
        meeting_start=begins,
        answer="held",
        slack_user_id=REP_ID,
    )
    assert answered.ok
    hooks.tick()
    (body,) = bodies(receiver.deliveries())
    assert body["type"] == "held" and body["outcome"] == "held"
    assert body["meeting"] == {
        "start": begins.isoformat(),
        "end": (begins + timedelta(minutes=30)).isoformat(),
    }
    assert uuid.UUID(body["request"]["id"]) == request.id


def test_a_booking_its_move_and_held_reach_the_crm_in_order(
    hooks: Stack, receiver: WebhookReceiver
) -> None:
    register(hooks, receiver.url)
    request = book_meeting(hooks)
    assert request.calendar_event_id is not None and request.meeting_start is not None
    new_start = request.meeting_start + timedelta(days=7)
    propose_move(hooks, request, request.calendar_event_id, new_start)
    approve(hooks, ActionType.calendar_update)
    card = end_of_meeting_check(hooks, the_request(hooks))
    assert hooks.click("meeting_held", card).status == 200
    wait_for(lambda: the_request(hooks).status == RequestStatus.completed, "held")
    later(hooks, 1)

    got = bodies(receiver.deliveries())
    assert [b["type"] for b in got] == ["booked", "moved", "held"]
    booked, moved, held = got
    assert booked["meeting"]["start"] == request.meeting_start.isoformat()
    assert moved["meeting"]["start"] == held["meeting"]["start"] == new_start.isoformat()
    assert held["outcome"] == "held" and held["request"]["status"] == "completed"
    assert PROSPECT in [a["email"] for a in booked["attendees"]]
    # One move is one event, though both the executed update and its request saw it.
    assert len(hooks.rows(WebhookDelivery, WebhookDelivery.event_type == "moved")) == 1


def test_giving_up_on_silence_is_told(hooks: Stack, receiver: WebhookReceiver) -> None:
    register(hooks, receiver.url, "gave_up")
    hooks.schedule(f"demo with {PROSPECT}")
    hooks.drain()
    card = wait_for(hooks.cards, "the first card")[0]
    (request,) = hooks.rows(SchedulingRequest)
    with hooks.deps.uow() as uow:
        uow.session.add(
            SchedulingTemplate(
                org_id=request.org_id,
                meeting_type=request.meeting_type,
                follow_up_hours=[24],
                max_attempts=1,
            )
        )
        uow.commit()
    approve_and_send(hooks, card)
    later(hooks, 3 * 24 * 60)
    later(hooks, 1)
    (body,) = bodies(receiver.deliveries())
    assert body["type"] == "gave_up" and body["outcome"] == "gave_up"
    assert body["request"]["status"] == "paused" and body["meeting"] is None


@pytest.mark.parametrize("point", ["webhook.claimed", "webhook.posted"])
def test_a_worker_that_dies_mid_delivery_loses_nothing(
    hooks: Stack, receiver: WebhookReceiver, point: str
) -> None:
    register(hooks, receiver.url, "cancelled")
    start(hooks)
    cancel(hooks, "ACME-1")
    with armed(point):
        hooks.tick()  # the worker dies at `point`, holding the claim
    (row,) = hooks.rows(WebhookDelivery)
    assert row.status == WebhookStatus.delivering
    # Another worker takes it over once the dead one's lease has run out.
    later(hooks, 0.25)
    assert hooks.rows(WebhookDelivery)[0].status == WebhookStatus.delivering
    later(hooks, 1)
    (row,) = hooks.rows(WebhookDelivery)
    assert row.status == WebhookStatus.delivered and row.attempts == 2
    ids = {r.headers["convene-delivery-id"] for r in receiver.deliveries()}
    # Died before the POST: sent once. Died after it: sent again with the same id, which is
    # how the receiver knows it is a repeat (README: Idempotency).
    assert len(receiver.deliveries()) == (1 if point == "webhook.claimed" else 2)
    assert ids == {row.delivery_id}


def test_ended_deliveries_are_pruned_and_owed_ones_kept(
    hooks: Stack, receiver: WebhookReceiver
) -> None:
    register(hooks, receiver.url)
    start(hooks)
    record(hooks, "ACME-1", WebhookEvent.booked, "first")
    hooks.tick()
    receiver.answer(503)
    record(hooks, "ACME-1", WebhookEvent.moved, "second")
    hooks.tick()
    days = hooks.deps.settings.retention_webhook_days
    hooks.clock.advance(timedelta(days=days, minutes=1))
    assert prune_if_due(hooks.deps)["webhook_deliveries"] == 1
    (kept,) = hooks.rows(WebhookDelivery)
    assert kept.event_type == "moved" and kept.status == WebhookStatus.pending


def test_a_delivery_held_by_a_dead_worker_is_dropped_once_its_endpoint_is_removed(
    hooks: Stack, receiver: WebhookReceiver
) -> None:
    register(hooks, receiver.url, "cancelled")
    start(hooks)
    cancel(hooks, "ACME-1")
    with armed("webhook.claimed"):
        hooks.tick()
    (subscription,) = hooks.rows(WebhookSubscription)
    assert slash(hooks, f"remove wh_{subscription.id.hex[:8]}").startswith("Removed")
    later(hooks, 5)
    (row,) = hooks.rows(WebhookDelivery)
    assert row.status == WebhookStatus.cancelled and receiver.received == []
