"""Rows written by the version before typed payloads and outputs still load, unchanged.

Each JSON below is what that version stored, built the way it built it (dict literals,
`isoformat()`); reading it through its shape and writing it back must give the same text.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest

from db.models import ActionStatus, ActionType, JobStatus, PendingAction, SequenceJob
from orchestrator.engine.action_data import (
    SHAPES,
    ActionData,
    BookingData,
    EmailData,
    FollowUpData,
    action_data,
)
from orchestrator.engine.event_types import (
    PAYLOADS,
    EventType,
    MeetingRecovery,
    ReminderDue,
    payload,
)
from orchestrator.engine.outputs import (
    Assess,
    CheckFollowUp,
    DraftFollowUp,
    DraftRecovery,
    FindTimes,
    OfferTimes,
    StepOutput,
    UnderstandReply,
    output,
)
from orchestrator.engine.runner import run_step
from orchestrator.engine.shapes import ShapeError
from orchestrator.outbox.decisions import decide
from orchestrator.outbox.execute import execute
from tests.support.stack import REP_ID, Stack

START = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)
END = datetime(2026, 12, 3, 15, 30, tzinfo=UTC)
MESSAGE_ID = "3f2b8c1e-0d4a-4f0e-9a51-6b1c2d3e4f50"

OLD_PAYLOADS: list[tuple[EventType, dict[str, Any]]] = [
    (EventType.scheduling_requested, {"ref": "ACME-1"}),
    (EventType.calendar_find_times, {"ref": "ACME-2"}),
    (EventType.redraft_requested, {"note": "only mornings", "rules": "mornings only"}),
    (EventType.redraft_requested, {"stale": "the slot was taken"}),
    (EventType.email_received, {"email_message_id": MESSAGE_ID, "matched_by": "thread"}),
    (
        EventType.decision_made,
        {"choice": "book_slot", "slot": START.isoformat(), "email_message_id": MESSAGE_ID},
    ),
    (EventType.decision_made, {"choice": "offer_times", "slot": None, "email_message_id": None}),
    (
        EventType.recipient_confirmed,
        {"email_message_id": MESSAGE_ID, "address": "b@x.io", "name": "B", "decided_by": "U1"},
    ),
    (EventType.follow_up_due, {"due_at": START.isoformat()}),
    (EventType.morning_brief_due, {"day": "2026-12-03"}),
    (EventType.reminder_due, {"meeting_start": START.isoformat(), "due_at": END.isoformat()}),
    (EventType.meeting_ended, {"meeting_start": START.isoformat()}),
    (EventType.meeting_recovery, {"reason": "no_show", "meeting_start": START.isoformat()}),
    (EventType.calendar_times_chosen, {"choice": "email", "options": [0, 2], "by": "U1"}),
]


@pytest.mark.parametrize(("event_type", "stored"), OLD_PAYLOADS)
def test_an_old_payload_loads_and_writes_back_the_same_text(
    event_type: EventType, stored: dict[str, Any]
) -> None:
    loaded = PAYLOADS[event_type].from_json(json.loads(json.dumps(stored)))
    assert json.dumps(loaded.to_json()) == json.dumps(stored)


def test_an_old_job_row_reads_back_typed() -> None:
    job = SequenceJob(
        org_id="T1",
        event_type="reminder_due",
        event_source="clock",
        trigger_payload={"meeting_start": START.isoformat(), "due_at": END.isoformat()},
        idempotency_key="k",
        correlation_id="c",
        run_after=START,
        created_at=START,
        updated_at=START,
    )
    assert payload(job, ReminderDue) == ReminderDue(meeting_start=START, due_at=END)
    with pytest.raises(ShapeError):
        payload(job, MeetingRecovery)


def _slot(reasons: list[str] | None) -> dict[str, Any]:
    slot: dict[str, Any] = {"start": START.isoformat(), "end": END.isoformat()}
    if reasons is not None:
        slot["reasons"] = reasons
    return slot


OLD_OUTPUTS: list[tuple[type[StepOutput], dict[str, Any]]] = [
    (
        UnderstandReply,
        {
            "email_message_id": MESSAGE_ID,
            "intent": "out_of_office",
            "confidence": "high",
            "sentiment": "neutral",
            "escalate": False,
            "source": "rules",
            "reasoning": "auto-reply",
            "matched_slot": START.isoformat(),
            "question": None,
            "delegate_name": None,
            "delegate_email": None,
            "ooo_return": date(2026, 12, 7).isoformat(),
            "reschedule_later": None,
            "proposed_times": [START.isoformat(), END.isoformat()],
            "extras": ["question"],
        },
    ),
    (
        Assess,
        {
            "next_action": "waiting_for_decision",
            "subtype": "resolve_conflict",
            "needs_rep": True,
            "score": 40,
            "reasons": ["a: only Thursday"],
            "summary": "no common slot",
            "attendees": ["a", "b"],
            "slot": None,
            "alternatives": [
                {"slot": START.isoformat(), "attendees": ["a"], "fits_all": False},
            ],
        },
    ),
    (FindTimes, {"options": [_slot(["early for them"]), _slot([])]}),
    (OfferTimes, {"channel": "D1", "ts": "1700000000.000100"}),
    (CheckFollowUp, {"attempt": 2}),
    (DraftFollowUp, {"attempt": 2, "tone": "gentle", "slots": [_slot([])]}),
    (DraftRecovery, {"reason": "no_show", "slots": [_slot(None)]}),
]


@pytest.mark.parametrize(("shape", "stored"), OLD_OUTPUTS)
def test_an_old_step_output_loads_and_writes_back_the_same_text(
    shape: type[StepOutput], stored: dict[str, Any]
) -> None:
    job = SequenceJob(
        org_id="T1",
        event_type="email_received",
        event_source="mail",
        outputs={shape.STEP: json.loads(json.dumps(stored))},
        idempotency_key="k",
        correlation_id="c",
        run_after=START,
        created_at=START,
        updated_at=START,
    )
    loaded = output(job, shape)
    assert loaded is not None
    assert json.dumps(loaded.to_json()) == json.dumps(stored)


def test_an_understand_reply_from_before_proposed_times_still_loads() -> None:
    (_, stored) = OLD_OUTPUTS[0]
    older = {k: v for k, v in stored.items() if k != "proposed_times"}
    assert UnderstandReply.from_json(older).proposed_times == ()


def test_an_understand_reply_from_before_extras_still_loads() -> None:
    (_, stored) = OLD_OUTPUTS[0]
    older = {k: v for k, v in stored.items() if k != "extras"}
    assert UnderstandReply.from_json(older).extras == ()


@pytest.mark.parametrize(
    "bad",
    [
        {"reason": "no_show"},
        {"reason": "no_show", "meeting_start": "not a time"},
        {"reason": 7, "meeting_start": START.isoformat()},
    ],
)
def test_a_payload_that_does_not_fit_fails_its_job_not_the_worker(
    stack: Stack, bad: dict[str, Any]
) -> None:
    with stack.deps.uow() as uow:
        job = SequenceJob(
            org_id="T1",
            event_type=EventType.meeting_recovery,
            event_source="slack",
            trigger_payload=bad,
            idempotency_key="bad-payload",
            correlation_id="c",
            run_after=stack.clock.now(),
            created_at=stack.clock.now(),
            updated_at=stack.clock.now(),
        )
        uow.session.add(job)
        uow.commit()
        job_id = job.id
    assert run_step(stack.deps, job_id) == JobStatus.failed
    (row,) = stack.rows(SequenceJob)
    assert row.last_error is not None and row.last_error.startswith("ShapeError: ")
    assert "meeting_recovery payload" in row.last_error


# --- pending-action data ---------------------------------------------------------------------

THREAD = {"in_reply_to": "<a@x>", "references": ["<a@x>"], "thread_id": None}
OLD_ACTION_DATA: list[tuple[ActionType, dict[str, Any]]] = [
    (
        ActionType.email_initial,
        {
            "to": ["p@x.io"],
            "cc": [],
            "subject": "Hi",
            "body": "b",
            "message_id": "<m@c>",
            "slots": [START.isoformat(), END.isoformat()],
        },
    ),  # fmt: skip
    (
        ActionType.email_response,
        {
            "to": ["p@x.io"],
            "cc": ["q@x.io"],
            "subject": "Re: Hi",
            "body": "b",
            "message_id": "<m@c>",
            "slots": [],
            **THREAD,
        },
    ),  # fmt: skip
    (
        ActionType.email_response,  # fresh times: no cc
        {
            "to": ["p@x.io"],
            "subject": "Re: Hi",
            "body": "b",
            "message_id": "<m@c>",
            "slots": [START.isoformat()],
            **THREAD,
            "thread_id": "t1",
        },
    ),  # fmt: skip
    (
        ActionType.email_confirmation,
        {"to": ["p@x.io"], "subject": "Re: Hi", "body": "b", "message_id": "<m@c>", **THREAD},
    ),
    (
        ActionType.email_reminder,  # nothing sent yet to thread under
        {"to": ["p@x.io"], "cc": [], "subject": "Soon", "body": "b", "message_id": "<m@c>"},
    ),
    (
        ActionType.email_no_show,
        {
            "to": ["p@x.io"],
            "cc": [],
            "subject": "Re: Hi",
            "body": "b",
            "message_id": "<m@c>",
            **THREAD,
            "slots": [START.isoformat()],
        },
    ),  # fmt: skip
    (
        ActionType.email_follow_up,
        {
            "to": ["p@x.io"],
            "cc": [],
            "body": "b",
            "message_id": "<m@c>",
            "subject": "Re: Hi",
            **THREAD,
            "slots": [START.isoformat()],
            "attempt": 1,
            "tone": "friendly",
        },
    ),  # fmt: skip
    (
        ActionType.calendar_book,
        {
            "title": "Demo",
            "start": START.isoformat(),
            "end": END.isoformat(),
            "attendees": [{"email": "p@x.io", "name": "P", "optional": False}],
            "description": "",
            "conference": None,
            "to": ["p@x.io"],
            "subject": "Invite: Demo",
            "body": "Book it.",
        },
    ),  # fmt: skip
    (
        ActionType.calendar_update,
        {
            "title": "Demo",
            "start": START.isoformat(),
            "end": END.isoformat(),
            "attendees": [{"email": "p@x.io", "name": "P", "optional": True}],
            "description": "ctx",
            "conference": "google_meet",
            "to": ["p@x.io"],
            "subject": "Move: Demo",
            "body": "Move it.",
            "event_id": "convene-1",
        },
    ),  # fmt: skip
    (
        ActionType.calendar_cancel,
        {
            "event_id": "convene-1",
            "reason": "cancelled",
            "to": ["p@x.io"],
            "subject": "Cancel: Demo",
            "body": "Cancel it.",
        },
    ),  # fmt: skip
]


def _action(action_type: ActionType, data: dict[str, Any]) -> PendingAction:
    return PendingAction(
        org_id="T1",
        rep_id=uuid.uuid4(),
        action_type=action_type,
        action_data=json.loads(json.dumps(data)),
        idempotency_key="k",
        created_at=START,
        updated_at=START,
    )


@pytest.mark.parametrize(("action_type", "stored"), OLD_ACTION_DATA)
def test_old_action_data_loads_and_writes_back_the_same_keys_and_values(
    action_type: ActionType, stored: dict[str, Any]
) -> None:
    loaded = action_data(_action(action_type, stored), ActionData)
    assert type(loaded) is SHAPES[action_type]
    # JSONB keeps no key order, so the same keys with the same values are the same row.
    assert json.dumps(loaded.to_json(), sort_keys=True) == json.dumps(stored, sort_keys=True)


def test_old_action_data_reads_back_typed() -> None:
    follow_up = action_data(_action(*OLD_ACTION_DATA[6]), FollowUpData)
    assert follow_up.slots == (START,) and follow_up.thread_id is None
    booking = action_data(_action(*OLD_ACTION_DATA[8]), BookingData)
    assert booking.booked() == (START, END) and booking.attendees[0].optional


@pytest.mark.parametrize(
    ("action_type", "stored", "shape"),
    [
        (ActionType.email_initial, {"to": ["p@x.io"], "subject": "Hi", "body": "b"}, EmailData),
        (ActionType.calendar_book, {"title": "Demo", "start": "soon"}, BookingData),
        (ActionType.calendar_cancel, OLD_ACTION_DATA[9][1], EmailData),
    ],
)
def test_action_data_that_does_not_fit_raises_for_that_action(
    action_type: ActionType, stored: dict[str, Any], shape: type[ActionData]
) -> None:
    with pytest.raises(ShapeError, match="action "):
        action_data(_action(action_type, stored), shape)


def _unreadable_action(stack: Stack, status: ActionStatus) -> uuid.UUID:
    """A calendar booking whose stored data lacks its times, on a real request and job."""
    stack.schedule("demo with john@acme.example")
    stack.drain()
    (job,) = stack.rows(SequenceJob)
    now = stack.clock.now()
    action = PendingAction(
        org_id=job.org_id,
        rep_id=job.rep_id,
        request_id=job.request_id,
        job_id=job.id,
        action_type=ActionType.calendar_book,
        idempotency_key="unreadable",
        action_data={"title": "Demo", "to": ["john@acme.example"]},
        status=status,
        undo_until=now,
        created_at=now,
        updated_at=now,
    )
    with stack.deps.uow() as uow:
        uow.session.add(action)
        uow.commit()
    return action.id


def test_approving_a_draft_whose_data_does_not_fit_is_refused_with_a_reason(
    stack: Stack,
) -> None:
    action_id = _unreadable_action(stack, ActionStatus.pending)
    decision = decide(stack.deps, action_id=action_id, decision="approve", slack_user_id=REP_ID)
    assert not decision.ok
    assert "can't be read" in decision.message
    (row,) = [a for a in stack.rows(PendingAction) if a.id == action_id]
    assert row.status == ActionStatus.pending


def test_an_approved_action_whose_data_does_not_fit_fails_once_and_says_why(
    stack: Stack,
) -> None:
    action_id = _unreadable_action(stack, ActionStatus.approved)
    assert execute(stack.deps, action_id) == ActionStatus.failed
    (row,) = [a for a in stack.rows(PendingAction) if a.id == action_id]
    assert row.status == ActionStatus.failed
    assert row.error is not None and "nothing was sent" in row.error
    # Failed is final: the clock's re-wake and a second delivery of the job do nothing.
    assert execute(stack.deps, action_id) == "skipped"
