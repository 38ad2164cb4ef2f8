"""After the booking: the reminder on the prospect's morning, the held / no-show card ten minutes
after the end, recovery with fresh times, cancel and move of the calendar event, all through the
outbox. Each flow runs from a real booking (signed /schedule, the prospect's reply, approvals in
Slack) on the clock's own tick, on both backends."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from email import message_from_string, policy
from email.message import EmailMessage as MimeMessage
from typing import Any

import pytest
from sqlmodel import col

from bot.local_slack import Message, block_errors
from bot.meeting_blocks import meeting_check_card
from connectors.errors import TransientError
from connectors.ports import CalendarEvent, CalendarPort, CreatedEvent
from db.models import (
    ActionStatus,
    ActionType,
    LocalCalendarEvent,
    PendingAction,
    Rep,
    RequestOutcome,
    RequestStatus,
    SchedulingAction,
    SchedulingAttendee,
    SchedulingRequest,
    SchedulingTemplate,
    SequenceJob,
)
from orchestrator.outbox.execute import execute
from orchestrator.steps.meeting_times import reminder_at
from orchestrator.views import MeetingCheck
from skills.draft_validation import word_count
from tests.support.stack import OTHER_ID, REP_EMAIL, REP_ID, Stack, wait_for
from tests.test_mail_intake import PROSPECT, a_reply, deliver, send_first_email

NY = "America/New_York"

# --- driving the flow ----------------------------------------------------------------------------


def approve(stack: Stack, kind: ActionType) -> PendingAction:
    """Approve the newest pending `kind` card in Slack, let the undo window pass, execute it."""
    stack.drain()  # cards are posted by the worker
    action = wait_for(
        lambda: sorted(
            (
                a
                for a in stack.rows(
                    PendingAction,
                    col(PendingAction.action_type) == kind,
                    col(PendingAction.status) == ActionStatus.pending,
                )
                if a.slack_ts
            ),
            key=lambda a: a.created_at,
        ),
        f"the {kind} card",
    )[-1]
    card = next(c for c in stack.cards() if c.ts == action.slack_ts)
    assert stack.click("approve_action", card).status == 200
    wait_for(
        lambda: stack.rows(
            PendingAction,
            col(PendingAction.id) == action.id,
            col(PendingAction.status) == ActionStatus.approved,
        ),
        "the approval",
    )
    stack.clock.advance(timedelta(seconds=stack.deps.settings.undo_seconds))
    stack.tick()
    (done,) = stack.rows(PendingAction, col(PendingAction.id) == action.id)
    assert done.status == ActionStatus.executed, done.error
    return done


def book_meeting(stack: Stack) -> SchedulingRequest:
    """The first email, the prospect's "Tuesday works", the invite and the confirmation."""
    first = send_first_email(stack)
    deliver(stack, a_reply(first, "Tuesday works for me, see you then!"))
    stack.poll_mail()
    approve(stack, ActionType.calendar_book)
    approve(stack, ActionType.email_confirmation)
    request = the_request(stack)
    assert request.status == RequestStatus.confirmed and request.meeting_start is not None
    return request


def the_request(stack: Stack) -> SchedulingRequest:
    (request,) = stack.rows(SchedulingRequest)
    return request


def move_clock_to(stack: Stack, moment: datetime) -> None:
    stack.clock.advance(moment - stack.clock.now())
    stack.tick()


def actions_of(stack: Stack, kind: ActionType) -> list[PendingAction]:
    return stack.rows(PendingAction, col(PendingAction.action_type) == kind)


def jobs_of(stack: Stack, event_type: str) -> list[SequenceJob]:
    return stack.rows(SequenceJob, col(SequenceJob.event_type) == event_type)


def audit(stack: Stack, kind: str) -> list[SchedulingAction]:
    return stack.rows(SchedulingAction, col(SchedulingAction.action_type) == kind)


def check_cards(stack: Stack) -> list[Message]:
    return [m for m in stack.cards() if m.text.startswith("Did ACME-1")]


def answered_card(stack: Stack, card: Message, label: str) -> Message:
    """The check card as chat.update redrew it after an answer: the meeting line kept, the
    buttons replaced by the answer and who gave it; nothing ephemeral for the clicker."""
    hook = stack.last_hook
    (redrawn,) = wait_for(
        lambda: [m for m in stack.slack.messages if m.ts == card.ts and m.history],
        "the answered card",
    )
    (update,) = [c for c in stack.slack.calls_to("chat.update") if c["args"]["ts"] == card.ts]
    assert update["args"]["channel"] == card.channel == f"D{REP_ID}"
    assert redrawn.blocks[0] == card.blocks[0]
    assert not [b for b in redrawn.blocks if b["type"] == "actions"]
    shown = json.dumps(redrawn.blocks, ensure_ascii=False)
    assert not [a for a in ("meeting_held", "meeting_no_show", "meeting_rescheduled") if a in shown]
    (answer,) = [b for b in redrawn.blocks[1:] if label in json.dumps(b, ensure_ascii=False)]
    assert answer["type"] == "context" and f"<@{REP_ID}>" in json.dumps(answer)
    assert [r for r in stack.slack.responses if r["hook"] == hook] == []
    return redrawn


def replies_to_last_click(stack: Stack) -> list[str]:
    hook = stack.last_hook
    found = wait_for(
        lambda: [r for r in stack.slack.responses if r["hook"] == hook], "the ephemeral reply"
    )
    return [str(r["text"]) for r in found]


def last_mail_to(stack: Stack, address: str) -> MimeMessage:
    message = message_from_string(stack.inbox(address)[-1].raw, policy=policy.default)
    assert isinstance(message, MimeMessage)
    return message


def text_of(message: MimeMessage) -> str:
    plain = message.get_body(preferencelist=("plain",))
    assert plain is not None
    return str(plain.get_content())


def sent_message_id(action: PendingAction) -> str:
    assert action.result is not None
    return str(action.result["message_id"])


def event_rows(stack: Stack, event_id: str) -> list[LocalCalendarEvent]:
    return stack.rows(LocalCalendarEvent, col(LocalCalendarEvent.event_id) == event_id)


def end_of_meeting_check(stack: Stack, request: SchedulingRequest) -> Message:
    """Reach the meeting's end + 10 min (nothing a minute earlier) and return the card."""
    assert request.meeting_end is not None
    move_clock_to(stack, request.meeting_end + timedelta(minutes=9))
    assert check_cards(stack) == [] and jobs_of(stack, "meeting_ended") == []
    move_clock_to(stack, request.meeting_end + timedelta(minutes=10))
    (card,) = wait_for(lambda: check_cards(stack), "the held / no-show card")
    return card


# --- the reminder rule (pure) --------------------------------------------------------------------


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[arg-type, misc]


@pytest.mark.parametrize(
    ("rule", "start", "tz", "expected"),
    [
        # 08:00 in New York in winter (EST) and just after the spring change (EDT).
        (None, utc(2026, 12, 8, 15), NY, utc(2026, 12, 8, 13)),
        ("morning_of", utc(2027, 3, 15, 14), NY, utc(2027, 3, 15, 12)),
        # The prospect's day, not ours: 16:00 UTC is 17:00 in Berlin, reminded at 07:00 UTC.
        (None, utc(2026, 12, 8, 16), "Europe/Berlin", utc(2026, 12, 8, 7)),
        # Their local date decides the day: 03:00 UTC Wednesday is Tuesday evening in New York.
        (None, utc(2026, 12, 9, 3), NY, utc(2026, 12, 8, 13)),
        # A meeting at 08:30 their time is reminded an hour before, not after it started.
        (None, utc(2026, 12, 8, 13, 30), NY, utc(2026, 12, 8, 12, 30)),
        ("hours_before:3", utc(2026, 12, 8, 15), NY, utc(2026, 12, 8, 12)),
        ("hours_before:0", utc(2026, 12, 8, 15), NY, utc(2026, 12, 8, 14)),
        ("hours_before:99", utc(2026, 12, 8, 15), NY, utc(2026, 12, 6, 15)),
        ("gibberish", utc(2026, 12, 8, 15), NY, utc(2026, 12, 8, 13)),
        ("none", utc(2026, 12, 8, 15), NY, None),
    ],
)
def test_reminder_time_rule(
    rule: str | None, start: datetime, tz: str, expected: datetime | None
) -> None:
    assert reminder_at(rule, start=start, tz=tz) == expected


def test_meeting_check_card_is_valid_block_kit_and_escapes_names() -> None:
    check = MeetingCheck(
        request_id=str(uuid.uuid4()),
        ref="ACME-1",
        title="Demo <!channel>",
        prospect="John <@U999>",
        start=datetime(2026, 12, 8, 15, 0, tzinfo=UTC),
        end=datetime(2026, 12, 8, 15, 45, tzinfo=UTC),
        rep_timezone=NY,
    )
    text, blocks = meeting_check_card(check)
    assert block_errors(blocks) == []
    shown = str(blocks)
    assert "<!channel>" not in shown and "<@U999>" not in shown
    assert "Tue Dec 8, 10:00–10:45 EST" in shown
    buttons = [e["action_id"] for b in blocks for e in b.get("elements", [])]
    assert buttons == ["meeting_held", "meeting_no_show", "meeting_rescheduled"]
    _, answered = meeting_check_card(
        MeetingCheck(**{**check.__dict__, "answer": "held", "answered_by": REP_ID})
    )
    assert not [b for b in answered if b["type"] == "actions"]
    assert f"Held by <@{REP_ID}>" in str(answered)


# --- reminders ----------------------------------------------------------------------------------


def test_reminder_is_drafted_once_at_eight_their_time_and_sent_in_the_thread(stack: Stack) -> None:
    request = book_meeting(stack)
    assert request.meeting_start is not None
    confirmation = last_mail_to(stack, PROSPECT)
    morning = datetime(2026, 12, 8, 13, 0, tzinfo=UTC)  # 08:00 EST on the meeting's day
    assert request.meeting_start.date() == morning.date()

    move_clock_to(stack, morning - timedelta(minutes=1))
    assert actions_of(stack, ActionType.email_reminder) == []
    move_clock_to(stack, morning)
    (draft,) = wait_for(lambda: actions_of(stack, ActionType.email_reminder), "the reminder")
    move_clock_to(stack, morning + timedelta(minutes=5))  # later ticks draft nothing more
    assert len(actions_of(stack, ActionType.email_reminder)) == 1
    assert len(jobs_of(stack, "reminder_due")) == 1
    assert word_count(draft.action_data["body"]) <= 40
    assert draft.action_data["to"] == [PROSPECT]
    assert draft.expires_at == request.meeting_start  # useless once the meeting has started

    sent = approve(stack, ActionType.email_reminder)
    reminder = last_mail_to(stack, PROSPECT)
    assert reminder["Message-ID"] == sent_message_id(sent)
    assert reminder["In-Reply-To"] == confirmation["Message-ID"]
    assert confirmation["Message-ID"] in reminder["References"]
    first = message_from_string(stack.inbox(PROSPECT)[0].raw, policy=policy.default)
    assert reminder["Subject"] == f"Re: {first['Subject']}"  # the conversation's own subject
    body = text_of(reminder)
    assert "reminder" in body.lower() or "looking forward" in body.lower()
    assert "Tue, Dec 8 at" in body and "EST" in body
    request = the_request(stack)
    assert request.status == RequestStatus.reminder_sent
    assert len(audit(stack, "reminder_sent")) == 1


def test_reminder_follows_the_prospects_zone(stack: Stack) -> None:
    request = book_meeting(stack)
    (prospect,) = stack.rows(SchedulingAttendee, col(SchedulingAttendee.email) == PROSPECT)
    with stack.deps.uow() as uow:
        row = uow.session.get_one(SchedulingAttendee, prospect.id)
        row.timezone = "Europe/Berlin"
        uow.session.add(row)
        uow.commit()
    berlin_morning = datetime(2026, 12, 8, 7, 0, tzinfo=UTC)  # 08:00 CET
    move_clock_to(stack, berlin_morning - timedelta(minutes=1))
    assert actions_of(stack, ActionType.email_reminder) == []
    move_clock_to(stack, berlin_morning)
    (draft,) = wait_for(lambda: actions_of(stack, ActionType.email_reminder), "the reminder")
    assert "CET" in draft.action_data["body"]  # the time in their zone
    (job,) = jobs_of(stack, "reminder_due")
    assert job.trigger_payload["due_at"] == berlin_morning.isoformat()
    assert request.meeting_start is not None
    assert job.trigger_payload["meeting_start"] == request.meeting_start.isoformat()


def test_a_team_rule_of_hours_before_is_honoured(stack: Stack) -> None:
    request = book_meeting(stack)
    with stack.deps.uow() as uow:
        uow.session.add(
            SchedulingTemplate(
                org_id=request.org_id, meeting_type="demo", reminder_rule="hours_before:2"
            )
        )
        uow.commit()
    assert request.meeting_start is not None
    move_clock_to(stack, request.meeting_start - timedelta(hours=2, minutes=1))
    assert actions_of(stack, ActionType.email_reminder) == []
    move_clock_to(stack, request.meeting_start - timedelta(hours=2))
    wait_for(lambda: actions_of(stack, ActionType.email_reminder), "the reminder")


# --- cancel and move ------------------------------------------------------------------------------


def test_cancel_asks_to_remove_the_event_and_approval_cancels_it_everywhere(stack: Stack) -> None:
    request = book_meeting(stack)
    assert request.calendar_event_id is not None
    copies = event_rows(stack, request.calendar_event_id)
    assert {r.calendar for r in copies} >= {REP_EMAIL, PROSPECT}

    prompt = stack.command("cancel ACME-1")  # confirm first: nothing happens yet
    assert the_request(stack).status == RequestStatus.confirmed
    ask = json.loads(prompt.body)
    card = Message(channel="C0GENERAL", ts="1.1", text=ask["text"], blocks=ask["blocks"])
    stack.click("cancel_request", card)
    (said,) = replies_to_last_click(stack)
    assert "Approve the calendar card" in said
    request = the_request(stack)
    assert request.status == RequestStatus.cancelled
    assert request.outcome == RequestOutcome.cancelled_by_rep

    done = approve(stack, ActionType.calendar_cancel)
    assert done.action_data["event_id"] == request.calendar_event_id
    assert done.action_data["to"] == [PROSPECT]  # what the card shows
    assert all(r.status == "cancelled" for r in event_rows(stack, done.action_data["event_id"]))
    assert request.meeting_start is not None and request.meeting_end is not None
    busy = stack.deps.calendar.free_busy(
        emails=[REP_EMAIL], start=request.meeting_start, end=request.meeting_end
    )
    assert busy == {REP_EMAIL: []}
    assert the_request(stack).calendar_event_id is None

    # Cancelled requests get neither a reminder nor the after-meeting card.
    move_clock_to(stack, request.meeting_end + timedelta(hours=1))
    assert actions_of(stack, ActionType.email_reminder) == []
    assert jobs_of(stack, "reminder_due") == [] and jobs_of(stack, "meeting_ended") == []
    assert check_cards(stack) == []


def test_a_move_keeps_one_event_and_the_reminder_follows_it_across_dst(stack: Stack) -> None:
    request = book_meeting(stack)
    event_id = request.calendar_event_id
    assert event_id is not None and request.meeting_start is not None
    before = event_rows(stack, event_id)
    # The day's reminder goes out, then the prospect asks to move the meeting to March.
    move_clock_to(stack, datetime(2026, 12, 8, 13, 0, tzinfo=UTC))
    approve(stack, ActionType.email_reminder)
    assert the_request(stack).status == RequestStatus.reminder_sent
    new_start = datetime(2027, 3, 15, 14, 0, tzinfo=UTC)  # Monday 10:00 EDT, the day after DST
    propose_move(stack, request, event_id, new_start)
    done = approve(stack, ActionType.calendar_update)
    assert done.result is not None and done.result["event_id"] == event_id

    after = event_rows(stack, event_id)
    assert len(after) == len(before)  # the same copies, no twin
    assert all(r.start == new_start and r.status == "confirmed" for r in after)
    mine = stack.rows(LocalCalendarEvent, col(LocalCalendarEvent.calendar) == REP_EMAIL)
    assert [r.event_id for r in mine if r.title == request.title] == [event_id]
    moved = the_request(stack)
    # The reminder named the old time, so the new time is owed one.
    assert moved.meeting_start == new_start and moved.status == RequestStatus.confirmed

    # The old time ends without a held / no-show question.
    assert request.meeting_end is not None
    move_clock_to(stack, request.meeting_end + timedelta(minutes=30))
    assert jobs_of(stack, "meeting_ended") == [] and check_cards(stack) == []
    # The new morning is 08:00 EDT = 12:00 UTC (an EST offset would say 13:00).
    move_clock_to(stack, datetime(2027, 3, 15, 11, 59, tzinfo=UTC))
    assert len(actions_of(stack, ActionType.email_reminder)) == 1
    move_clock_to(stack, datetime(2027, 3, 15, 12, 0, tzinfo=UTC))
    wait_for(lambda: len(actions_of(stack, ActionType.email_reminder)) == 2, "the new reminder")
    (job,) = [
        j
        for j in jobs_of(stack, "reminder_due")
        if j.trigger_payload["meeting_start"] == new_start.isoformat()
    ]
    (draft,) = stack.rows(PendingAction, col(PendingAction.job_id) == job.id)
    assert "Mon, Mar 15 at 10:00 AM EDT" in draft.action_data["body"]


def propose_move(
    stack: Stack, request: SchedulingRequest, event_id: str, start: datetime
) -> PendingAction:
    """A `calendar_update` draft as a reschedule step proposes one, with its card posted."""
    now = stack.clock.now()
    end = start + timedelta(minutes=request.duration_minutes)
    attendees = stack.rows(SchedulingAttendee, col(SchedulingAttendee.request_id) == request.id)
    with stack.deps.uow() as uow:
        action = PendingAction(
            org_id=request.org_id,
            rep_id=request.rep_id,
            request_id=request.id,
            action_type=ActionType.calendar_update,
            action_data={
                "event_id": event_id,
                "title": request.title,
                "start": start.isoformat(),
                "end": end.isoformat(),
                "attendees": [
                    {"email": a.email, "name": a.name} for a in attendees if a.email != REP_EMAIL
                ],
                "to": [PROSPECT],
                "subject": f"Move: {request.title}",
                "body": f"Move the meeting to {start.isoformat()}.",
            },
            idempotency_key=f"test-move:{request.id}",
            created_at=now,
            updated_at=now,
        )
        uow.session.add(action)
        uow.commit()
    stack.deps.wakeups.post_action_card(action.id)
    stack.drain()
    return action


# --- after the meeting ----------------------------------------------------------------------------


def test_held_completes_the_request_and_a_second_click_is_told(stack: Stack) -> None:
    request = book_meeting(stack)
    card = end_of_meeting_check(stack, request)
    (job,) = jobs_of(stack, "meeting_ended")
    move_clock_to(stack, stack.clock.now() + timedelta(minutes=5))
    assert len(check_cards(stack)) == 1 and len(jobs_of(stack, "meeting_ended")) == 1

    stack.click("meeting_held", card, user=OTHER_ID)  # not theirs to answer
    (refusal,) = replies_to_last_click(stack)
    assert "belongs to" in refusal
    assert the_request(stack).status == RequestStatus.confirmed

    assert stack.click("meeting_held", card).status == 200
    wait_for(lambda: the_request(stack).status == RequestStatus.completed, "completed")
    done = the_request(stack)
    assert done.outcome == "held" and done.meeting_start == request.meeting_start
    (row,) = audit(stack, "meeting_held")
    assert row.actor == "user" and row.details["outcome"] == "held"
    redrawn = wait_for(
        lambda: [
            m
            for m in check_cards(stack)
            if m.ts == card.ts and not [b for b in m.blocks if b["type"] == "actions"]
        ],
        "the answered card",
    )
    assert f"Held by <@{REP_ID}>" in str(redrawn[0].blocks)

    stack.click("meeting_no_show", card)  # the old card, clicked again
    (again,) = replies_to_last_click(stack)
    assert again.startswith("Already answered: ACME-1 was marked held")
    assert the_request(stack).no_show_count == 0
    assert jobs_of(stack, "meeting_recovery") == []


def test_no_show_drafts_fresh_times_and_follow_ups_resume(stack: Stack) -> None:
    request = book_meeting(stack)
    confirmation = last_mail_to(stack, PROSPECT)
    card = end_of_meeting_check(stack, request)
    stack.click("meeting_no_show", card)
    wait_for(lambda: the_request(stack).status == RequestStatus.no_show, "no-show")
    answered_card(stack, card, "No-show")
    after = the_request(stack)
    assert after.no_show_count == 1 and after.outcome == "no_show"
    assert after.meeting_start is None and after.calendar_event_id is None
    (row,) = audit(stack, "no_show_detected")
    assert row.details["meeting_start"] == request.meeting_start.isoformat()  # type: ignore[union-attr]

    stack.drain()
    sent = approve(stack, ActionType.email_no_show)
    slots = [datetime.fromisoformat(s) for s in sent.action_data["slots"]]
    assert slots and all(s > stack.clock.now() for s in slots)
    assert word_count(sent.action_data["body"]) <= 60
    mail = last_mail_to(stack, PROSPECT)
    assert mail["Message-ID"] == sent_message_id(sent)
    assert mail["In-Reply-To"] == confirmation["Message-ID"]
    assert "things come up" in text_of(mail).lower()  # the first no-show's tone

    resumed = the_request(stack)
    assert resumed.status == RequestStatus.awaiting_response
    assert resumed.next_action_type == "follow_up"
    assert resumed.next_action_at == stack.clock.now() + timedelta(hours=24)
    assert [s["start"] for s in resumed.proposed_slots] == sent.action_data["slots"]
    assert len(audit(stack, "rescheduling_started")) == 1


def test_rescheduled_goes_back_to_negotiating_with_fresh_times(stack: Stack) -> None:
    request = book_meeting(stack)
    card = end_of_meeting_check(stack, request)
    stack.click("meeting_rescheduled", card)
    wait_for(lambda: the_request(stack).status == RequestStatus.negotiating, "negotiating")
    redrawn = answered_card(stack, card, "Rescheduled")
    assert "No-show" not in json.dumps(redrawn.blocks)
    assert the_request(stack).outcome == "rescheduled"
    assert the_request(stack).no_show_count == 0
    assert len(audit(stack, "meeting_rescheduled")) == 1

    stack.drain()
    sent = approve(stack, ActionType.email_response)
    assert sent.action_data["slots"]
    assert "new time" in sent.action_data["body"]
    assert "missed" not in sent.action_data["body"].lower()
    assert last_mail_to(stack, PROSPECT)["Message-ID"] == sent_message_id(sent)
    after = the_request(stack)
    assert after.status == RequestStatus.negotiating
    assert after.next_action_type == "follow_up" and after.next_action_at is not None
    assert actions_of(stack, ActionType.email_no_show) == []


def test_the_third_no_show_pauses_and_tells_the_rep(stack: Stack) -> None:
    request = book_meeting(stack)
    with stack.deps.uow() as uow:
        row = uow.session.get_one(SchedulingRequest, request.id)
        row.no_show_count = 2  # two earlier meetings were missed
        uow.session.add(row)
        uow.commit()
    card = end_of_meeting_check(stack, request)
    stack.click("meeting_no_show", card)
    wait_for(lambda: the_request(stack).status == RequestStatus.paused, "paused")
    paused = the_request(stack)
    assert paused.no_show_count == 3 and paused.paused_from == RequestStatus.no_show
    assert paused.outcome == RequestOutcome.gave_up  # the stop rule: Convene gave up on them
    assert paused.next_action_at is None
    (stopped,) = audit(stack, "follow_ups_stopped")
    assert "3 times" in stopped.reasoning
    told = wait_for(
        lambda: [m for m in stack.slack.messages if "missed the meeting 3 times" in m.text],
        "the DM",
    )
    assert told[0].channel == f"D{REP_ID}"
    stack.drain()
    assert jobs_of(stack, "meeting_recovery") == []
    assert actions_of(stack, ActionType.email_no_show) == []


def test_the_card_waits_for_the_reps_quiet_hours_to_end(stack: Stack) -> None:
    request = book_meeting(stack)
    assert request.meeting_end is not None
    with stack.deps.uow() as uow:
        rep = uow.session.get_one(Rep, request.rep_id)
        # The meeting ends in the afternoon in New York; quiet from then until 18:00.
        rep.quiet_hours_start, rep.quiet_hours_end = "00:00", "18:00"
        uow.session.add(rep)
        uow.commit()
    move_clock_to(stack, request.meeting_end + timedelta(minutes=10))
    assert check_cards(stack) == [] and jobs_of(stack, "meeting_ended") == []
    evening = datetime(2026, 12, 8, 23, 0, tzinfo=UTC)  # 18:00 EST
    move_clock_to(stack, evening)
    wait_for(lambda: check_cards(stack), "the card after quiet hours")


# --- exactly-once calendar executors ------------------------------------------------------------


class FlakyCalendar:
    """Does the call, then times out the first time: the provider did it, we never heard."""

    def __init__(self, inner: CalendarPort) -> None:
        self.inner = inner
        self.failed: set[str] = set()

    def _once(self, what: str) -> None:
        if what not in self.failed:
            self.failed.add(what)
            raise TransientError(f"{what}: timed out")

    def create_event(self, event: CalendarEvent) -> CreatedEvent:
        created = self.inner.create_event(event)
        self._once("create")
        return created

    def update_event(self, event: CalendarEvent) -> None:
        self.inner.update_event(event)
        self._once("update")

    def cancel_event(self, *, organizer: str, event_id: str) -> None:
        self.inner.cancel_event(organizer=organizer, event_id=event_id)
        self._once("cancel")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def _approved(stack: Stack, kind: ActionType, data: dict[str, Any]) -> uuid.UUID:
    now = stack.clock.now()
    known = stack.rows(Rep, col(Rep.email) == REP_EMAIL)
    rep = known[0] if known else Rep(org_id="T0LOCAL", slack_user_id=REP_ID, email=REP_EMAIL,
                                     timezone=NY, created_at=now)  # fmt: skip
    with stack.deps.uow() as uow:
        if not known:
            uow.session.add(rep)
            uow.session.flush()  # the rep's row before the action that points at it
        action = PendingAction(
            org_id="T0LOCAL",
            rep_id=rep.id,
            action_type=kind,
            status=ActionStatus.approved,
            action_data=data,
            undo_until=now,
            idempotency_key=f"test:{uuid.uuid4()}",
            created_at=now,
            updated_at=now,
        )
        uow.session.add(action)
        uow.commit()
    return action.id


def _execute_until_done(stack: Stack, action_id: uuid.UUID) -> PendingAction:
    assert execute(stack.deps, action_id) == "retrying"
    stack.clock.advance(timedelta(minutes=1))
    assert execute(stack.deps, action_id) == ActionStatus.executed
    assert execute(stack.deps, action_id) == "skipped"  # and never again
    (action,) = stack.rows(PendingAction, col(PendingAction.id) == action_id)
    return action


def test_calendar_executors_retried_after_a_timeout_stay_exactly_once(stack: Stack) -> None:
    flaky = FlakyCalendar(stack.deps.calendar)
    stack.deps.calendar = flaky
    start = datetime(2026, 12, 8, 15, 0, tzinfo=UTC)
    attendees = [{"email": PROSPECT, "name": "John Doe"}]
    base = {"title": "Demo", "attendees": attendees, "description": "", "conference": None}
    span = {"start": start.isoformat(), "end": (start + timedelta(minutes=30)).isoformat()}

    booked = _execute_until_done(stack, _approved(stack, ActionType.calendar_book, base | span))
    assert booked.result is not None
    event_id = booked.result["event_id"]
    assert {r.calendar for r in event_rows(stack, event_id)} == {REP_EMAIL, PROSPECT}
    assert len(stack.rows(LocalCalendarEvent)) == 2  # one copy each, no twin

    later = start + timedelta(days=1)
    moved_span = {"start": later.isoformat(), "end": (later + timedelta(minutes=30)).isoformat()}
    move = base | moved_span | {"event_id": event_id}
    moved = _execute_until_done(stack, _approved(stack, ActionType.calendar_update, move))
    assert moved.result is not None and moved.result["start"] == later.isoformat()
    rows = event_rows(stack, event_id)
    assert len(rows) == 2 and all(r.start == later for r in rows)

    gone = {"event_id": event_id, "reason": "cancelled by the rep"}
    cancelled = _execute_until_done(stack, _approved(stack, ActionType.calendar_cancel, gone))
    assert cancelled.error is None
    assert all(r.status == "cancelled" for r in event_rows(stack, event_id))

    # An event already gone (deleted by hand, or an earlier cancel) is a cancel that happened.
    again = _approved(stack, ActionType.calendar_cancel, gone | {"event_id": "convene-missing"})
    stack.deps.calendar = flaky.inner
    assert execute(stack.deps, again) == ActionStatus.executed


def test_moving_an_event_that_is_gone_fails_with_a_reason(stack: Stack) -> None:
    start = datetime(2026, 12, 8, 15, 0, tzinfo=UTC)
    data = {
        "event_id": "convene-never-booked",
        "title": "Demo",
        "attendees": [{"email": PROSPECT}],
        "start": start.isoformat(),
        "end": (start + timedelta(minutes=30)).isoformat(),
    }
    action_id = _approved(stack, ActionType.calendar_update, data)
    assert execute(stack.deps, action_id) == ActionStatus.failed
    (action,) = stack.rows(PendingAction, col(PendingAction.id) == action_id)
    assert action.error is not None and "convene-never-booked" in action.error
    assert stack.rows(LocalCalendarEvent) == []
