"""The stuck check: which requests under way have neither a wake-up nor a card for the rep.

The scripted conversations in tests/test_conversations_stuck.py run it after every script;
here each thing that keeps a request moving is taken away, or put back, one at a time.
"""

from __future__ import annotations

from datetime import timedelta

from db.models import RequestStatus, SchedulingAction, SchedulingRequest
from orchestrator.timers.stuck import stuck_requests
from tests.support.stack import Stack
from tests.test_follow_ups import request_row, send_first_email


def stuck(stack: Stack) -> list[str]:
    with stack.deps.uow() as uow:
        return [r.ref for r in stuck_requests(uow.session, now=stack.clock.now())]


def change(stack: Stack, **values: object) -> None:
    with stack.deps.uow() as uow:
        request = uow.session.get_one(SchedulingRequest, request_row(stack).id)
        for name, value in values.items():
            setattr(request, name, value)
        uow.session.add(request)
        uow.commit()


def note(stack: Stack, kind: str) -> None:
    request = request_row(stack)
    with stack.deps.uow() as uow:
        uow.session.add(
            SchedulingAction(
                org_id=request.org_id,
                request_id=request.id,
                action_type=kind,
                actor="system",
                reasoning="test",
                created_at=stack.clock.now(),
            )
        )
        uow.commit()


def test_a_request_with_neither_a_wake_up_nor_a_card_is_stuck(stack: Stack) -> None:
    send_first_email(stack)
    assert stuck(stack) == []  # the follow-up is on the clock

    change(stack, next_action_at=None, next_action_type=None)
    assert stuck(stack) == ["ACME-1"]

    # A decision card waiting on the rep is enough.
    change(stack, event_next_action="waiting_for_decision")
    assert stuck(stack) == []
    change(stack, event_next_action="coordination_in_progress")
    assert stuck(stack) == ["ACME-1"]

    # A booked meeting is watched by the clock (reminder, then "did it happen?").
    start = stack.clock.now() + timedelta(days=2)
    change(
        stack,
        status=RequestStatus.confirmed,
        meeting_start=start,
        meeting_end=start + timedelta(minutes=45),
    )
    assert stuck(stack) == []

    # Finished requests are never stuck.
    change(stack, status=RequestStatus.cancelled)
    assert stuck(stack) == []


def test_a_paused_request_is_stuck_only_with_a_reply_nobody_was_asked_about(stack: Stack) -> None:
    send_first_email(stack)
    change(stack, status=RequestStatus.paused, next_action_at=None, next_action_type=None)
    note(stack, "request_paused")
    assert stuck(stack) == []  # the rep's to move

    stack.clock.advance(timedelta(minutes=1))
    note(stack, "reply_received")
    assert stuck(stack) == ["ACME-1"]

    change(stack, event_next_action="waiting_for_decision")  # the Reopen card
    assert stuck(stack) == []
