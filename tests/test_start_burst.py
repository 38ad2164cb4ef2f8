"""A burst of Start clicks through signed HTTP: every click is acked, every acked click becomes
exactly one request with its own reference, and a start that fails after the ack is told to
the rep instead of vanishing."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import fakeredis
from redis import Redis
from sqlmodel import SQLModel

from bot.app import build_app
from bot.listeners.start import NOT_STARTED
from bot.local_slack import Message
from bot.slack_requests import Reply, button_click, post_signed, slash_command
from bot.web import make_web_server
from connectors.clock import ManualClock
from db.models import ReferenceCounter, Rep, SchedulingRequest, SequenceJob
from tests.support.stack import OTHER_ID, REP_ID, SECRET, Stack, wait_for

T = TypeVar("T")
# Slack gives up on an ack after 3 s and shows the rep an error.


def _at_once(n: int, send: Callable[[int], T]) -> list[T]:
    """`send(i)` for i in 0..n-1, all released at the same moment from their own threads."""
    gate = threading.Barrier(n)

    def go(i: int) -> T:
        gate.wait()
        return send(i)

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(go, range(n)))


def _user(i: int) -> str:
    return REP_ID if i % 2 == 0 else OTHER_ID  # two reps, both on their first request


def _command(stack: Stack, i: int) -> Reply:
    return post_signed(
        stack.events_url,
        slash_command(
            text=f"demo with buyer{i}@acme.example",
            user_id=_user(i),
            team_id=stack.slack.team_id,
            response_url=stack.slack.hook_url(f"cmd-{i}"),
            trigger_id=f"burst-{i}",
        ),
        secret=SECRET,
    )


def _answers(stack: Stack, hook: str) -> list[dict[str, Any]]:
    return [r for r in stack.slack.responses if r["hook"] == hook]


def _card(stack: Stack, i: int) -> Message:
    answer = wait_for(lambda: _answers(stack, f"cmd-{i}"), f"confirm card {i}")[-1]
    return Message("C0GENERAL", "ephemeral", str(answer["text"]), answer.get("blocks") or [])


def _click(stack: Stack, i: int, card: Message, hook: str) -> tuple[Reply, float]:
    began = time.monotonic()
    reply = post_signed(
        stack.events_url,
        button_click(
            action_id="start_request",
            value=Stack.button_value(card, "start_request"),
            user_id=_user(i),
            team_id=stack.slack.team_id,
            response_url=stack.slack.hook_url(hook),
            channel_id=card.channel,
            message_ts=card.ts,
        ),
        secret=SECRET,
    )
    return reply, time.monotonic() - began


def _burst(stack: Stack, n: int) -> None:
    commands = _at_once(n, lambda i: _command(stack, i))
    assert [r.status for r in commands] == [200] * n
    cards = [_card(stack, i) for i in range(n)]

    clicks = _at_once(n, lambda i: _click(stack, i, cards[i], f"start-{i}"))
    assert [reply.status for reply, _ in clicks] == [200] * n
    # How fast the acks come is a figure for bench/ack_latency.py, not a unit test's: on a
    # shared machine a wall-clock bound fails for reasons of its own.

    # Every rep is told which request their click started, on that click's own card...
    told = [
        wait_for(lambda i=i: _answers(stack, f"start-{i}"), f"the answer to click {i}", 30)[-1]
        for i in range(n)
    ]
    assert all("finding times for a demo" in answer["text"] for answer in told), told
    # ...and none is lost: one request and one job per click, each with its own reference,
    # numbered without gaps because no transaction that took a number was given up.
    requests = stack.rows(SchedulingRequest)
    assert sorted(r.ref for r in requests) == sorted(f"ACME-{k}" for k in range(1, n + 1))
    assert {answer["text"].split("*")[1] for answer in told} == {r.ref for r in requests}
    assert len(stack.rows(SequenceJob)) == n
    assert sorted(r.slack_user_id for r in stack.rows(Rep)) == [OTHER_ID, REP_ID]
    # Each one's first step is waiting for a worker.
    assert len(stack.deps.queue) == n


def test_200_concurrent_starts_on_postgres_all_become_requests(
    pg_url: str, real_redis: Redis, clock: ManualClock
) -> None:
    with Stack.start(database_url=pg_url, redis=real_redis, clock=clock) as stack:
        _burst(stack, 200)


def test_concurrent_starts_on_sqlite_all_become_requests(
    sqlite_url: str, clock: ManualClock
) -> None:
    with Stack.start(database_url=sqlite_url, redis=fakeredis.FakeRedis(), clock=clock) as stack:
        _burst(stack, 40)


def test_a_start_that_fails_after_the_ack_is_told_and_can_be_pressed_again(
    stack: Stack,
) -> None:
    assert stack.command("demo with john@acme.example").status == 200
    card = stack.confirm_card()
    counters = SQLModel.metadata.tables[ReferenceCounter.__tablename__]
    counters.drop(stack.deps.engine)  # every start now fails in the database, after its ack
    try:
        reply = stack.click("start_request", card)
        assert reply.status == 200
        (answer,) = wait_for(lambda: _answers(stack, stack.last_hook), "the failure notice")
    finally:
        counters.create(stack.deps.engine)
    assert answer["text"] == NOT_STARTED
    assert answer["replace_original"] is False  # the card, and its Start button, stay
    assert stack.rows(SchedulingRequest) == []

    assert stack.command_response(stack.click("start_request", card)).startswith("*ACME-1*: ")
    again = stack.command_response(stack.click("start_request", card))
    assert again.startswith("*ACME-1* is already under way")
    assert [r.ref for r in stack.rows(SchedulingRequest)] == ["ACME-1"]
    assert len(stack.rows(SequenceJob)) == 1


def test_the_web_server_queues_a_burst_of_connections(sqlite_url: str, clock: ManualClock) -> None:
    """Nobody accepts yet (as when every thread is busy): the kernel still completes each
    handshake into the listen backlog, instead of dropping it to be retried a second later."""
    connections = 200
    with Stack.start(database_url=sqlite_url, redis=fakeredis.FakeRedis(), clock=clock) as stack:
        server = make_web_server(build_app(stack.deps), stack.deps, host="127.0.0.1", port=0)
        opened: list[socket.socket] = []
        try:
            for _ in range(connections):
                # A dropped handshake leaves connect() waiting out the retransmit.
                opened.append(
                    socket.create_connection(("127.0.0.1", server.server_port), timeout=0.3)
                )
        except TimeoutError:
            pass
        finally:
            for sock in opened:
                sock.close()
            server.server_close()  # never served: nothing to shut down
    assert len(opened) == connections
