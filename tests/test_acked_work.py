"""A Start or a form Slack was told had been received is never lost to a dead web process.

The listener keeps the Slack payload before its ack and marks it done once the work after the
ack has finished. A process that died in between leaves the row unfinished; another process's
`replay_unfinished` runs the same listener code from it. The dead process is played here by an
`AfterAck` that holds and acks but never runs its work.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any
from urllib.parse import unquote
from zoneinfo import ZoneInfo

from slack_bolt import Respond
from sqlalchemy import text, update
from sqlmodel import col

from bot.after_ack import BATCH, HOLD_WAIT, MAX_ATTEMPTS, STALE, AfterAck
from bot.listeners.schedule import START_FORM, start_form
from bot.listeners.start import START_CLICK, start_click
from bot.modals import new_request_view
from bot.slack_requests import button_click
from db.models import AckedWork, SchedulingRequest, SequenceJob
from orchestrator.views import START_EVENTS
from tests.support.stack import REP_ID, Stack, wait_for
from tests.test_confirm_card import initial_values


def _process(stack: Stack) -> AfterAck:
    """Another web process of the same deployment, with the listeners' replays."""
    after_ack = AfterAck(stack.deps)
    after_ack.replays[START_CLICK] = start_click
    after_ack.replays[START_FORM] = start_form
    return after_ack


def _start_click_body(stack: Stack, hook: str) -> dict[str, Any]:
    """The payload Slack sends when the rep presses Start on the card `/schedule` answered."""
    stack.command("demo with john@acme.example")
    card = stack.confirm_card()
    raw = button_click(
        action_id="start_request",
        value=stack.button_value(card, "start_request"),
        user_id=REP_ID,
        team_id=stack.slack.team_id,
        response_url=stack.slack.hook_url(hook),
        channel_id=card.channel,
        message_ts=card.ts,
    )
    payload: dict[str, Any] = json.loads(unquote(raw.decode().removeprefix("payload=")))
    return payload


def _answers(stack: Stack, hook: str) -> list[str]:
    return [str(r["text"]) for r in stack.slack.responses if r["hook"] == hook]


def test_a_start_click_is_kept_until_its_work_is_done(stack: Stack) -> None:
    said = stack.schedule("demo with john@acme.example")
    assert said.startswith("*ACME-1*: finding times")
    (held,) = wait_for(
        lambda: [w for w in stack.rows(AckedWork) if w.done_at is not None], "the held click done"
    )
    assert (held.kind, held.body["actions"][0]["action_id"]) == (START_CLICK, "start_request")
    stack.clock.advance(STALE * 2)
    assert _process(stack).replay_unfinished() == 0  # finished work is never run again


def test_a_start_acked_by_a_process_that_died_is_finished_by_another(stack: Stack) -> None:
    body = _start_click_body(stack, "dead-start")
    dead = _process(stack)
    assert dead.keep(START_CLICK, body) is not None  # held, acked, and then the process died
    assert stack.rows(SchedulingRequest) == []

    survivor = _process(stack)
    stack.clock.advance(STALE / 2)
    assert survivor.replay_unfinished() == 0  # young work may still be on its way
    stack.clock.advance(STALE)
    assert survivor.replay_unfinished() == 1

    (request,) = stack.rows(SchedulingRequest)
    said = _answers(stack, "dead-start")
    assert [a.startswith(f"*{request.ref}*: finding times") for a in said] == [True]
    (work,) = stack.rows(AckedWork)
    assert work.done_at is not None and work.attempts == 1
    assert survivor.replay_unfinished() == 0
    assert len(stack.rows(SchedulingRequest)) == 1


def test_a_replay_of_work_that_did_finish_starts_nothing_twice(stack: Stack) -> None:
    body = _start_click_body(stack, "slow-start")
    first = _process(stack)
    held = first.keep(START_CLICK, body)
    start_click(stack.deps, body, stack.deps.slack_client, _respond(stack, "slow-start"))
    # The process died after the request was made but before it marked the work done.
    (request,) = stack.rows(SchedulingRequest)
    assert held is not None

    stack.clock.advance(STALE * 2)
    assert _process(stack).replay_unfinished() == 1
    assert [r.id for r in stack.rows(SchedulingRequest)] == [request.id]
    assert len(stack.rows(SequenceJob)) == 1
    # The rep hears of the same request again, as one already under way.
    first, again = _answers(stack, "slow-start")
    assert first.startswith(f"*{request.ref}*: finding times")
    assert again.startswith(f"*{request.ref}* is already under way")


def test_a_submitted_form_is_finished_after_a_crash(stack: Stack) -> None:
    today = stack.clock.now().astimezone(ZoneInfo("UTC")).date()
    view = new_request_view(today=today, tz="UTC", event_type=START_EVENTS[0]) | {"id": "V0FORM"}
    values = initial_values(view) | {"guests": {"guests": {"value": "john@acme.example"}}}
    body = {
        "type": "view_submission",
        "team": {"id": stack.slack.team_id},
        "user": {"id": REP_ID},
        "view": {**view, "state": {"values": values}},
    }
    assert _process(stack).keep(START_FORM, body) is not None  # then the process died
    stack.clock.advance(STALE * 2)
    assert _process(stack).replay_unfinished() == 1

    (request,) = stack.rows(SchedulingRequest)
    told = wait_for(
        lambda: [m.text for m in stack.slack.messages if request.ref in m.text], "the DM"
    )
    assert told[0].startswith(f"*{request.ref}*: finding times")


def test_work_that_keeps_taking_a_process_down_is_given_up_and_the_rep_told(
    stack: Stack,
) -> None:
    body = _start_click_body(stack, "poison")
    held = _process(stack).keep(START_CLICK, body)
    # Each earlier replay took its process down mid-way.
    with stack.deps.uow() as uow:
        uow.session.execute(
            update(AckedWork)
            .where(col(AckedWork.id) == held)
            .values(attempts=MAX_ATTEMPTS, claimed_at=stack.clock.now())
        )
        uow.commit()
    stack.clock.advance(timedelta(hours=1))
    assert _process(stack).replay_unfinished() == 1

    assert stack.rows(SchedulingRequest) == []
    (dm,) = [m for m in stack.slack.messages if "could not finish" in m.text]
    assert dm.channel.startswith("D") and "run `/schedule` again" in dm.text
    (work,) = stack.rows(AckedWork)
    assert work.done_at is not None


def test_a_replay_in_progress_elsewhere_is_left_to_it(stack: Stack) -> None:
    body = _start_click_body(stack, "twice")
    held = _process(stack).keep(START_CLICK, body)
    stack.clock.advance(STALE * 2)
    with stack.deps.uow() as uow:  # another process took it a moment ago and is running it
        uow.session.execute(
            update(AckedWork).where(col(AckedWork.id) == held).values(claimed_at=stack.clock.now())
        )
        uow.commit()
    assert _process(stack).replay_unfinished() == 0
    assert stack.rows(SchedulingRequest) == []


def _respond(stack: Stack, hook: str) -> Respond:
    return Respond(response_url=stack.slack.hook_url(hook))


def test_a_serving_process_replays_on_its_own_and_forgets_finished_work(stack: Stack) -> None:
    body = _start_click_body(stack, "looped")
    held = _process(stack).keep(START_CLICK, body)  # then the process died
    old = _process(stack).keep(START_CLICK, _start_click_body(stack, "old"))
    with stack.deps.uow() as uow:  # finished long ago: nothing left to keep it for
        uow.session.execute(
            update(AckedWork)
            .where(col(AckedWork.id) == old)
            .values(done_at=stack.clock.now() - timedelta(days=2))
        )
        uow.commit()
    stack.clock.advance(STALE * 2)

    stop = _process(stack).keep_replaying(every=0.05)
    try:
        wait_for(
            lambda: [w for w in stack.rows(AckedWork) if w.id == held and w.done_at],
            "the replay",
        )
        wait_for(lambda: [w.id for w in stack.rows(AckedWork)] == [held], "the sweep")
    finally:
        stop.set()
    assert len(stack.rows(SchedulingRequest)) == 1


def test_rows_another_replay_holds_never_crowd_out_the_rest(stack: Stack) -> None:
    body = _start_click_body(stack, "crowd")
    process = _process(stack)
    busy = [process.keep(START_CLICK, body) for _ in range(BATCH)]  # older than the last one
    stack.clock.advance(timedelta(seconds=1))
    waiting = process.keep(START_CLICK, body)
    stack.clock.advance(STALE * 2)
    with stack.deps.uow() as uow:  # other processes are replaying the older ones right now
        uow.session.execute(
            update(AckedWork)
            .where(col(AckedWork.id).in_(busy))
            .values(claimed_at=stack.clock.now(), attempts=1)
        )
        uow.commit()

    assert _process(stack).replay_unfinished() == 1
    assert [w.id for w in stack.rows(AckedWork) if w.done_at is not None] == [waiting]
    assert len(stack.rows(SchedulingRequest)) == 1


def test_a_slow_database_never_holds_up_the_ack_and_the_row_still_lands(stack: Stack) -> None:
    body = _start_click_body(stack, "slow-db")
    process = _process(stack)
    ran = threading.Event()
    with _table_locked(stack):
        started = time.monotonic()
        held = process.hold(START_CLICK, body)
        waited = time.monotonic() - started
        assert not held.done()  # the insert waits on the lock; the ack does not
        assert HOLD_WAIT <= waited < HOLD_WAIT + 1.0
        process.run(ran.set, held)
        assert ran.wait(5)  # the work goes ahead meanwhile
    row_id = held.result(timeout=10)
    assert row_id is not None
    wait_for(
        lambda: [w for w in stack.rows(AckedWork) if w.id == row_id and w.done_at],
        "the row written after the ack, then marked done",
    )


@contextmanager
def _table_locked(stack: Stack) -> Iterator[None]:
    """Another transaction holds what an insert into acked_work needs, until the block ends."""
    with stack.deps.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("LOCK TABLE acked_work IN EXCLUSIVE MODE"))
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")  # SQLite: the one writer's lock
        try:
            yield
        finally:
            conn.rollback()
