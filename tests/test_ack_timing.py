"""Acceptance: /schedule is acknowledged long before slow calendar work returns."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from datetime import datetime

import fakeredis

from connectors.calendar.local import LocalCalendar
from connectors.clock import ManualClock
from connectors.ports import Interval
from orchestrator.engine.embedded import run_in_background
from tests.support.stack import Stack, wait_for

SLOW_SECONDS = 4.0


class SlowCalendar(LocalCalendar):
    """A calendar that takes SLOW_SECONDS to answer, like a provider having a bad day."""

    started = threading.Event()
    finished_at: float | None = None

    def free_busy(
        self, *, emails: Sequence[str], start: datetime, end: datetime
    ) -> Mapping[str, Sequence[Interval]]:
        self.started.set()
        time.sleep(SLOW_SECONDS)
        self.finished_at = time.monotonic()
        return super().free_busy(emails=emails, start=start, end=end)


def test_schedule_acks_before_slow_calendar_returns(sqlite_url: str, clock: ManualClock) -> None:
    with Stack.start(database_url=sqlite_url, redis=fakeredis.FakeRedis(), clock=clock) as stack:
        calendar = SlowCalendar(stack.deps.sessions, org_id="embedded")
        stack.deps.calendar = calendar
        stop = threading.Event()
        run_in_background(stack.deps, stop=stop, tick_seconds=0.05)
        try:
            assert stack.command("demo with john@acme.example").status == 200
            card = stack.confirm_card()
            began = time.monotonic()
            reply = stack.click("start_request", card)  # Start is what does the work
            acked = time.monotonic()
            assert reply.status == 200
            assert acked - began < 1.0, f"ack took {acked - began:.2f}s"
            assert calendar.started.wait(5), "the worker never reached the calendar"
            wait_for(lambda: calendar.finished_at, "the slow calendar", timeout=10)
            assert calendar.finished_at is not None and acked < calendar.finished_at
            wait_for(stack.cards, "the approval card after the slow calendar", timeout=10)
        finally:
            stop.set()
