"""Creating requests: concurrent commands never lose one, retries never duplicate one."""

from __future__ import annotations

import threading

from db.models import SchedulingRequest, SequenceJob
from orchestrator.commands.new_request import start_scheduling
from orchestrator.views import RepProfile, ScheduleCommand
from tests.support.stack import REP_EMAIL, REP_ID, Stack

PROFILE = RepProfile(REP_ID, REP_EMAIL, "Rita Moreno", "America/New_York")


def _start_many(stack: Stack, keys: list[str]) -> list[str]:
    refs: list[str] = []
    barrier = threading.Barrier(len(keys))

    def start(key: str) -> None:
        barrier.wait()
        started = start_scheduling(
            stack.deps,
            org_id="T1",
            profile=PROFILE,
            idempotency_key=key,
            command=ScheduleCommand(meeting_type="demo", emails=(f"{key}@acme.example",)),
        )
        refs.append(started.ref)

    threads = [threading.Thread(target=start, args=(key,)) for key in keys]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return refs


def test_concurrent_commands_for_one_company_each_get_a_request(stack: Stack) -> None:
    refs = _start_many(stack, [f"k{i}" for i in range(8)])
    assert sorted(refs) == sorted(f"ACME-{i}" for i in range(1, 9))
    assert len(stack.rows(SchedulingRequest)) == 8
    assert len(stack.rows(SequenceJob)) == 8


def test_the_same_command_delivered_twice_at_once_creates_one_request(stack: Stack) -> None:
    refs = _start_many(stack, ["same", "same", "same"])
    assert refs == ["ACME-1", "ACME-1", "ACME-1"]
    assert len(stack.rows(SchedulingRequest)) == 1
    assert len(stack.rows(SequenceJob)) == 1
