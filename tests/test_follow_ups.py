"""Silence → follow-ups on the clock: threaded drafts at +24 h, +48 h, +72 h, tone by attempt,
stop rules that pause and tell the rep, expiry of undecided drafts, and claims that hold when
several clocks run at once. Driven through signed Slack requests and the clock's own tick."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta
from email import message_from_string, policy
from email.message import EmailMessage as MimeMessage

from sqlalchemy import text
from sqlmodel import col

from bot.local_slack import Message
from db.models import (
    ActionStatus,
    ActionType,
    JobStatus,
    LocalCalendarEvent,
    PendingAction,
    Rep,
    RequestStatus,
    SchedulingAction,
    SchedulingRequest,
    SchedulingTemplate,
    SequenceJob,
)
from orchestrator.cadence import Cadence, follow_up_delay, stop_reason
from orchestrator.timers.due import DueReport, dispatch_due
from tests.support.stack import REP_EMAIL, Stack, wait_for
from tests.test_mail_intake import a_reply, deliver
from tests.test_negotiation import _approve_latest

PROSPECT = "john@acme.example"
# The first sentence of each wording per tone (skills/email_templates.py); either may be chosen.
OPENERS = {
    "friendly": ("Circling back on the demo", "Bumping this up in case it got buried"),
    "lighter": ("Just a light nudge", "Is the timing just not right at the moment?"),
    "final": ("I'll close the loop here", "Closing the loop on my side"),
}


# --- driving the flow ------------------------------------------------------------------------


def follow_up_cards(stack: Stack) -> list[Message]:
    """Approval cards for follow-ups, oldest first (a brief's text starts differently)."""
    return [m for m in stack.cards() if m.text.startswith("Follow-up email")]


def nth_follow_up_card(stack: Stack, n: int) -> Message:
    return wait_for(lambda: follow_up_cards(stack)[n - 1 :], f"follow-up card {n}")[0]


def approve_and_send(stack: Stack, card: Message) -> None:
    action_id = uuid.UUID(stack.button_value(card, "approve_action"))
    assert stack.click("approve_action", card).status == 200
    wait_for(
        lambda: stack.rows(
            PendingAction, PendingAction.id == action_id, PendingAction.status == "approved"
        ),
        "the approval",
    )
    stack.clock.advance(timedelta(seconds=stack.deps.settings.undo_seconds))
    stack.tick()
    (action,) = stack.rows(PendingAction, PendingAction.id == action_id)
    assert action.status == ActionStatus.executed


def send_first_email(stack: Stack) -> MimeMessage:
    assert "ACME-1" in stack.schedule(f"demo with {PROSPECT} next week 45m")
    stack.drain()
    card = wait_for(stack.cards, "the first card")[0]
    approve_and_send(stack, card)
    (mail,) = stack.inbox(PROSPECT)
    return message_from_string(mail.raw, policy=policy.default)  # type: ignore[return-value]


def request_row(stack: Stack) -> SchedulingRequest:
    (request,) = stack.rows(SchedulingRequest)
    return request


def follow_up_actions(stack: Stack) -> list[PendingAction]:
    rows = stack.rows(PendingAction, PendingAction.action_type == ActionType.email_follow_up)
    return sorted(rows, key=lambda a: a.created_at)


def follow_up_jobs(stack: Stack) -> list[SequenceJob]:
    return stack.rows(SequenceJob, SequenceJob.event_type == "follow_up_due")


def dms(stack: Stack, needle: str) -> list[Message]:
    return [m for m in stack.slack.messages if m.channel == "DU0REP" and needle in m.text]


def wait_until_due(stack: Stack) -> None:
    """Advance to one minute before the follow-up is due, prove nothing happens, then to it."""
    due = request_row(stack).next_action_at
    assert due is not None
    drafted = len(follow_up_actions(stack))
    stack.clock.advance(due - stack.clock.now() - timedelta(minutes=1))
    stack.tick()
    assert len(follow_up_actions(stack)) == drafted, "nothing is drafted before it is due"
    stack.clock.advance(timedelta(minutes=1))
    stack.tick()


def parse(raw: str) -> MimeMessage:
    return message_from_string(raw, policy=policy.default)  # type: ignore[return-value]


# --- the cadence -------------------------------------------------------------------------------


def test_silence_gets_threaded_follow_ups_then_stops_after_five_emails(stack: Stack) -> None:
    first = send_first_email(stack)
    first_id = first["Message-ID"]
    subject = first["Subject"]
    sent_ids = [first_id]
    # 72 h after Thursday Dec 3 is a Sunday: that nudge waits for Monday 9:00 in New York.
    monday = datetime(2026, 12, 7, 14, 0, tzinfo=UTC)
    cadence = [
        (24, 1, "friendly", None),
        (48, 2, "friendly", None),
        (72, 3, "lighter", monday),
        (72, 4, "final", None),
    ]
    for hours, attempt, tone, weekday in cadence:
        request = request_row(stack)
        assert request.status == RequestStatus.awaiting_response
        assert request.attempt_count == attempt
        assert request.next_action_type == "follow_up"
        expected = weekday or stack.clock.now() + timedelta(hours=hours)
        assert request.next_action_at == expected

        wait_until_due(stack)
        card = nth_follow_up_card(stack, attempt)
        action = follow_up_actions(stack)[-1]
        assert action.status == ActionStatus.pending
        assert action.expires_at == stack.clock.now() + timedelta(hours=24)
        data = action.action_data
        assert data["attempt"] == attempt
        assert data["tone"] == tone
        assert data["to"] == [PROSPECT]
        assert data["subject"] == f"Re: {subject}"
        assert data["in_reply_to"] == sent_ids[-1]
        assert data["references"] == sent_ids
        assert data["thread_id"] == first_id
        assert data["body"].startswith("Hi there,")
        assert any(opener in data["body"] for opener in OPENERS[tone]), data["body"]
        assert 1 <= len(data["slots"]) <= 3
        request = request_row(stack)
        assert request.next_action_at is None, "nothing else is due while the draft waits"

        approve_and_send(stack, card)
        inbox = stack.inbox(PROSPECT)
        assert len(inbox) == attempt + 1
        sent = parse(inbox[-1].raw)
        assert sent["Subject"] == f"Re: {subject}"
        assert sent["In-Reply-To"] == sent_ids[-1]
        assert sent["References"].split() == sent_ids
        assert inbox[-1].thread_id == first_id
        sent_ids.append(sent["Message-ID"])
        assert request_row(stack).proposed_slots[0]["start"] == data["slots"][0]

    assert sent_ids[1] != first_id and len(set(sent_ids)) == 5
    request = request_row(stack)
    assert request.attempt_count == 5
    # 72 h after Thursday Dec 10 is Sunday again: the stop rule is checked on Monday.
    assert request.next_action_at == datetime(2026, 12, 14, 14, 0, tzinfo=UTC)
    stack.clock.advance(request.next_action_at - stack.clock.now())
    stack.tick()

    request = request_row(stack)
    assert request.status == RequestStatus.paused
    assert request.paused_from == RequestStatus.awaiting_response
    assert request.next_action_at is None and request.next_action_type is None
    assert len(follow_up_actions(stack)) == 4, "no fifth follow-up is drafted"
    assert len(stack.inbox(PROSPECT)) == 5
    (told,) = dms(stack, "stopped following up")
    assert told.text == (
        ":pause_button: *ACME-1* · Convene stopped following up on Demo with john@acme.example: "
        "5 emails have gone unanswered (the limit is 5). The request is paused and nothing "
        "more will be sent automatically. Convene recommends closing it: "
        "`/schedule cancel ACME-1`, or `/schedule resume ACME-1` to keep it open."
    )
    (stopped,) = stack.rows(SchedulingAction, SchedulingAction.action_type == "follow_ups_stopped")
    assert stopped.reasoning == "5 emails have gone unanswered (the limit is 5)"
    jobs = sorted(follow_up_jobs(stack), key=lambda j: j.created_at)
    assert [j.status for j in jobs] == [JobStatus.done] * 5
    assert jobs[-1].steps_completed == ["check_follow_up"]
    assert jobs[0].steps_completed == ["check_follow_up", "draft_follow_up", "record_follow_up"]


def test_template_cadence_and_the_21_day_stop(stack: Stack) -> None:
    stack.schedule(f"demo with {PROSPECT} next week 45m")
    stack.drain()
    card = wait_for(stack.cards, "the first card")[0]
    (request,) = stack.rows(SchedulingRequest)
    with stack.deps.uow() as uow:
        uow.session.add(
            SchedulingTemplate(
                org_id=request.org_id,
                meeting_type=request.meeting_type,
                follow_up_hours=[240],
                max_attempts=10,
            )
        )
        uow.commit()
    approve_and_send(stack, card)
    assert request_row(stack).next_action_at == stack.clock.now() + timedelta(hours=240)
    wait_until_due(stack)
    approve_and_send(stack, nth_follow_up_card(stack, 1))
    assert request_row(stack).attempt_count == 2
    # Ten days after Thursday Dec 10 is Sunday Dec 20: the nudge waits for Monday 9:00 in
    # New York, which is the request's 21st day.
    monday = datetime(2026, 12, 21, 14, 0, tzinfo=UTC)
    assert request_row(stack).next_action_at == monday
    stack.clock.advance(monday - stack.clock.now())
    stack.tick()

    request = request_row(stack)
    assert request.status == RequestStatus.paused
    assert stack.clock.now() - request.created_at >= timedelta(days=21)
    assert len(follow_up_actions(stack)) == 1
    (told,) = dms(stack, "stopped following up")
    assert "it has been open for 21 days without a booking" in told.text


def test_negative_reply_pauses_instead_of_nudging(stack: Stack) -> None:
    send_first_email(stack)
    request = request_row(stack)
    # What the email_received sequence records for a reply it reads as negative.
    with stack.deps.uow() as uow:
        uow.session.add(
            SchedulingAction(
                org_id=request.org_id,
                request_id=request.id,
                action_type="reply_received",
                actor="prospect",
                reasoning="annoyed",
                details={"intent": "unclear", "sentiment": "negative"},
                created_at=stack.clock.now(),
            )
        )
        uow.commit()
    stack.clock.advance(timedelta(hours=24))
    stack.tick()
    request = request_row(stack)
    assert request.status == RequestStatus.paused
    assert follow_up_actions(stack) == []
    (told,) = dms(stack, "stopped following up")
    assert "their last reply read as negative" in told.text


def test_a_reply_since_the_last_email_skips_the_nudge(stack: Stack) -> None:
    send_first_email(stack)
    request = request_row(stack)
    with stack.deps.uow() as uow:
        row = uow.session.get_one(SchedulingRequest, request.id)
        row.status = RequestStatus.negotiating
        uow.session.add(row)
        uow.session.add(
            SchedulingAction(
                org_id=request.org_id,
                request_id=request.id,
                action_type="reply_received",
                actor="prospect",
                details={"intent": "question", "sentiment": "neutral"},
                created_at=stack.clock.now(),
            )
        )
        uow.commit()
    stack.clock.advance(timedelta(hours=24))
    stack.tick()
    request = request_row(stack)
    assert request.status == RequestStatus.negotiating
    assert request.next_action_at is None and request.next_action_type is None
    assert follow_up_actions(stack) == []
    (job,) = follow_up_jobs(stack)
    assert job.outputs["check_follow_up"] == {"skipped": "they replied"}
    assert dms(stack, "stopped following up") == []


def test_silence_after_our_counter_proposal_is_chased(stack: Stack) -> None:
    first = send_first_email(stack)
    # Their time clashes with the rep's calendar, so we answer with fresh times in the thread.
    with stack.deps.uow() as uow:
        uow.session.add(
            LocalCalendarEvent(
                org_id="embedded",
                calendar=REP_EMAIL,
                event_id="board",
                title="Board meeting",
                start=datetime(2026, 12, 9, 18, 0, tzinfo=UTC),
                end=datetime(2026, 12, 9, 21, 0, tzinfo=UTC),
            )
        )
        uow.commit()
    deliver(stack, a_reply(first, "Could we do Wednesday Dec 9 at 2pm instead?"))
    stack.poll_mail()
    counter = _approve_latest(stack, ActionType.email_response)
    assert counter.result is not None
    assert request_row(stack).status == RequestStatus.negotiating

    wait_until_due(stack)
    nth_follow_up_card(stack, 1)
    (action,) = follow_up_actions(stack)
    assert action.action_data["in_reply_to"] == counter.result["message_id"]
    assert action.action_data["subject"] == f"Re: {first['Subject']}"
    assert [j.outputs["check_follow_up"] for j in follow_up_jobs(stack)] == [{"attempt": 2}]


def test_paused_request_gets_no_follow_up_until_resumed(stack: Stack) -> None:
    send_first_email(stack)
    assert "Paused ACME-1" in stack.command_response(stack.command("pause ACME-1"))
    stack.clock.advance(timedelta(hours=30))
    stack.tick()
    assert follow_up_jobs(stack) == []
    assert follow_up_actions(stack) == []

    assert "Resumed ACME-1" in stack.command_response(stack.command("resume ACME-1"))
    # `resume` moves the overdue follow-up an hour out rather than firing it at once.
    assert request_row(stack).next_action_at == stack.clock.now() + timedelta(hours=1)
    wait_until_due(stack)
    nth_follow_up_card(stack, 1)
    (action,) = follow_up_actions(stack)
    assert action.action_data["attempt"] == 1


def test_undecided_follow_up_expires_and_the_rep_is_told(stack: Stack) -> None:
    send_first_email(stack)
    stack.clock.advance(timedelta(hours=24))
    stack.tick()
    card = nth_follow_up_card(stack, 1)
    stack.clock.advance(timedelta(hours=24) - timedelta(minutes=1))
    stack.tick()
    (action,) = follow_up_actions(stack)
    assert action.status == ActionStatus.pending
    stack.clock.advance(timedelta(minutes=1))
    stack.tick()

    (action,) = follow_up_actions(stack)
    assert action.status == ActionStatus.expired
    refreshed = stack.slack.message(card.channel, card.ts)
    assert "Expired" in str(refreshed.blocks)
    assert "approve_action" not in str(refreshed.blocks)
    (told,) = dms(stack, "expired before anyone decided")
    assert told.text == (
        ":hourglass_flowing_sand: *ACME-1* · The follow-up draft to john@acme.example expired "
        "before anyone decided, so nothing was sent. Follow-ups on ACME-1 are paused; "
        "`/schedule resume ACME-1` drafts a fresh one."
    )
    (job,) = follow_up_jobs(stack)
    assert job.status == JobStatus.done
    assert job.outputs["record_follow_up"] == {"action_status": "expired"}
    request = request_row(stack)
    assert request.status == RequestStatus.paused
    assert request.attempt_count == 1
    assert len(stack.inbox(PROSPECT)) == 1

    # A click on the stale card changes nothing.
    stack.click("approve_action", card)
    reply = wait_for(
        lambda: [r for r in stack.slack.responses if r["hook"] == stack.last_hook], "reply"
    )
    assert reply[0]["text"] == "This draft has expired."

    stack.command_response(stack.command("resume ACME-1"))
    stack.clock.advance(timedelta(hours=1))
    stack.tick()
    fresh = follow_up_actions(stack)
    assert [a.status for a in fresh] == [ActionStatus.expired, ActionStatus.pending]
    assert fresh[-1].action_data["attempt"] == 1


def test_rejected_follow_up_schedules_nothing_more(stack: Stack) -> None:
    send_first_email(stack)
    stack.clock.advance(timedelta(hours=24))
    stack.tick()
    card = nth_follow_up_card(stack, 1)
    stack.click("reject_action", card)
    modal = wait_for(lambda: stack.slack.modals, "the reject modal")[-1]
    stack.submit(modal, {"reason": {"reason": {"value": "I'll call him instead."}}})
    wait_for(lambda: stack.rows(PendingAction, col(PendingAction.status) == "rejected"), "reject")
    stack.drain()
    request = request_row(stack)
    assert request.status == RequestStatus.awaiting_response
    assert request.next_action_at is None and request.next_action_type is None
    assert request.attempt_count == 1
    stack.clock.advance(timedelta(days=5))
    stack.tick()
    assert len(follow_up_actions(stack)) == 1
    assert len(stack.inbox(PROSPECT)) == 1


def test_a_draft_the_validator_rejects_never_reaches_the_outbox(stack: Stack) -> None:
    stack.schedule(f"demo with {PROSPECT} next week 45m")
    stack.drain()
    card = wait_for(stack.cards, "the first card")[0]
    request = request_row(stack)
    with stack.deps.uow() as uow:
        # A team wording that promises a time of its own: exactly what the validator stops.
        uow.session.add(
            SchedulingTemplate(
                org_id=request.org_id,
                meeting_type=request.meeting_type,
                email_templates={
                    "follow_up.body": "{greeting}\n\nHow about tomorrow at 5pm?\n{slots}\n\n"
                    "{signature}"
                },
            )
        )
        uow.commit()
    approve_and_send(stack, card)
    stack.clock.advance(timedelta(hours=24))
    stack.tick()

    assert follow_up_actions(stack) == []
    (job,) = follow_up_jobs(stack)
    assert job.status == JobStatus.done
    assert job.steps_completed == ["check_follow_up", "draft_follow_up"]
    problems = job.outputs["draft_follow_up"]["problems"]
    assert problems == ["relative time 'tomorrow': name the date instead"]
    request = request_row(stack)
    assert request.next_action_at is None and request.attempt_count == 1
    (told,) = dms(stack, "could not write a follow-up")
    assert told.text.startswith(":warning: *ACME-1* · Convene could not write a follow-up it is")
    assert told.text.endswith(
        "Nothing was sent and no more follow-ups are scheduled; write to them yourself or "
        "`/schedule cancel`."
    )
    (audit,) = stack.rows(
        SchedulingAction, SchedulingAction.action_type == "draft_rejected_by_checks"
    )
    assert audit.reasoning == "; ".join(problems)
    assert len(stack.inbox(PROSPECT)) == 1


# --- several clocks ----------------------------------------------------------------------------


def _due_requests(stack: Stack, count: int) -> list[uuid.UUID]:
    now = stack.clock.now()
    with stack.deps.uow() as uow:
        rep = Rep(
            org_id="T0LOCAL", slack_user_id="U0REP", email="rita@northwind.example", created_at=now
        )
        uow.session.add(rep)
        ids = []
        for n in range(count):
            request = SchedulingRequest(
                org_id="T0LOCAL",
                rep_id=rep.id,
                ref=f"ACME-{n + 1}",
                status=RequestStatus.awaiting_response,
                attempt_count=1,
                next_action_type="follow_up",
                next_action_at=now - timedelta(minutes=n),
                created_at=now - timedelta(days=1),
                updated_at=now,
            )
            uow.session.add(request)
            ids.append(request.id)
        uow.commit()
    return ids


def _race(stack: Stack, clocks: int) -> list[DueReport]:
    barrier = threading.Barrier(clocks)
    reports: list[DueReport] = []

    def clock() -> None:
        barrier.wait()
        reports.append(dispatch_due(stack.deps))

    threads = [threading.Thread(target=clock) for _ in range(clocks)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return reports


def test_two_clocks_at_once_create_one_job_per_due_request(pg_stack: Stack) -> None:
    stack = pg_stack
    ids = _due_requests(stack, 1)
    reports = _race(stack, 2)
    assert sorted(r.requests for r in reports) == [0, 1]
    (job,) = follow_up_jobs(stack)
    assert job.request_id == ids[0]
    assert job.idempotency_key.startswith(f"follow_up:{ids[0]}:1:")

    more = _due_requests_for_existing_rep(stack, 30)
    reports = _race(stack, 3)
    assert sum(r.requests for r in reports) == 30, "every due row is claimed exactly once"
    jobs = follow_up_jobs(stack)
    assert len(jobs) == 31
    assert {j.request_id for j in jobs} == {ids[0], *more}
    assert all(r.next_action_at is None for r in stack.rows(SchedulingRequest))


def _due_requests_for_existing_rep(stack: Stack, count: int) -> list[uuid.UUID]:
    now = stack.clock.now()
    (rep,) = stack.rows(Rep)
    with stack.deps.uow() as uow:
        ids = []
        for n in range(count):
            request = SchedulingRequest(
                org_id="T0LOCAL",
                rep_id=rep.id,
                ref=f"BETA-{n + 1}",
                status=RequestStatus.awaiting_response,
                attempt_count=1,
                next_action_type="follow_up",
                next_action_at=now,
                created_at=now - timedelta(days=1),
                updated_at=now,
            )
            uow.session.add(request)
            ids.append(request.id)
        uow.commit()
    return ids


def test_a_row_another_clock_holds_is_skipped_not_waited_for(pg_stack: Stack) -> None:
    stack = pg_stack
    held, free = _due_requests(stack, 2)
    other_clock = stack.deps.engine.connect()
    transaction = other_clock.begin()
    try:
        other_clock.execute(
            text("SELECT id FROM scheduling_requests WHERE id = :id FOR UPDATE"),
            {"id": held},
        )
        report = dispatch_due(stack.deps)
        assert report.requests == 1
        (job,) = follow_up_jobs(stack)
        assert job.request_id == free
    finally:
        transaction.rollback()
        other_clock.close()
    assert dispatch_due(stack.deps).requests == 1
    assert {j.request_id for j in follow_up_jobs(stack)} == {held, free}


# --- the rules on their own --------------------------------------------------------------------


def test_follow_up_delays_repeat_the_last_gap() -> None:
    default = Cadence()
    assert [follow_up_delay(default, follow_ups_sent=n) for n in range(5)] == [
        timedelta(hours=h) for h in (24, 48, 72, 72, 72)
    ]
    custom = Cadence(follow_up_hours=(4, 96))
    assert [follow_up_delay(custom, follow_ups_sent=n) for n in range(3)] == [
        timedelta(hours=4),
        timedelta(hours=96),
        timedelta(hours=96),
    ]


def test_stop_rules_in_order() -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)

    def reason(**kw: object) -> str | None:
        args: dict[str, object] = {
            "cadence": Cadence(),
            "unanswered": 1,
            "no_show_count": 0,
            "created_at": now - timedelta(days=1),
            "now": now,
            "negative_reply": False,
            **kw,
        }
        return stop_reason(**args)  # type: ignore[arg-type]

    assert reason() is None
    assert reason(unanswered=4) is None
    assert reason(unanswered=5) == "5 emails have gone unanswered (the limit is 5)"
    assert reason(unanswered=5, cadence=Cadence(max_attempts=8)) is None
    assert reason(no_show_count=3) == "they have missed the meeting 3 times"
    assert reason(created_at=now - timedelta(days=21)) == (
        "it has been open for 21 days without a booking"
    )
    assert reason(created_at=now - timedelta(days=20, hours=23)) is None
    assert reason(negative_reply=True, unanswered=5) == (
        "their last reply read as negative, so a nudge could do more harm than good"
    )
