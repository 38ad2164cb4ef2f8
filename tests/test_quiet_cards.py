"""What Convene volunteers (a reply's summary, a follow-up's card) waits out the rep's quiet
hours; what the rep asked for (a command's card) never does. Neither is held by the hourly cap,
which is for notices and briefs, but both count toward it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import col, select

from db.models import ActionType, JobStatus, PendingAction, Rep, SequenceJob, SlackNotification
from orchestrator.timers.tick import tick
from tests.support.stack import REP_ID, Stack, wait_for
from tests.test_mail_intake import a_reply, deliver, reply_jobs, send_first_email


def quiet(stack: Stack, start: str, end: str) -> None:
    with stack.deps.uow() as uow:
        rep = uow.session.exec(select(Rep)).one()
        rep.quiet_hours_start, rep.quiet_hours_end = start, end
        uow.session.add(rep)
        uow.commit()


def move_to(stack: Stack, moment: datetime) -> None:
    stack.clock.advance(moment - stack.clock.now())


def rep_dms(stack: Stack) -> list[str]:
    return [m.text for m in stack.slack.messages if m.channel == f"D{REP_ID}"]


def test_a_reply_at_night_waits_for_morning_with_the_draft_it_leads_to(stack: Stack) -> None:
    first = send_first_email(stack)  # Monday 09:00 in New York, the rep's own command
    quiet(stack, "22:00", "07:00")
    move_to(stack, datetime(2026, 12, 1, 4, 30, tzinfo=UTC))  # 23:30 in New York
    before = rep_dms(stack)

    deliver(stack, a_reply(first, "Tuesday at 10am works for me."))
    stack.poll_mail()
    (job,) = reply_jobs(stack)
    assert job.status == JobStatus.queued and job.current_step == 2  # waiting at tell_rep
    assert job.run_after == datetime(2026, 12, 1, 12, 0, tzinfo=UTC)  # 07:00 in New York
    assert rep_dms(stack) == before, "nothing reaches the rep in their quiet hours"
    assert stack.rows(PendingAction, col(PendingAction.status) == "pending") == []

    move_to(stack, datetime(2026, 12, 1, 11, 59, tzinfo=UTC))
    stack.tick()
    assert rep_dms(stack) == before
    # At 07:00 the timed wake-up runs it; here the clock's reconciler does, a minute later.
    move_to(stack, datetime(2026, 12, 1, 12, 1, tzinfo=UTC))
    stack.tick()
    (job,) = reply_jobs(stack)
    assert job.outputs["tell_rep"]["channel"] == f"D{REP_ID}"
    new = rep_dms(stack)[len(before) :]
    assert any("ACME-1" in text and "Tuesday at 10am works for me" in text for text in new)
    # Counted toward the hourly cap that notices obey.
    assert stack.rows(SlackNotification, col(SlackNotification.kind) == "reply")


def test_a_follow_up_card_in_quiet_hours_is_posted_when_they_end(stack: Stack) -> None:
    send_first_email(stack)
    quiet(stack, "08:00", "10:00")  # the follow-up falls due at 09:00 tomorrow, inside them
    cards_before = len(stack.cards())
    stack.clock.advance(timedelta(days=1))
    stack.tick()
    (draft,) = stack.rows(
        PendingAction, col(PendingAction.action_type) == ActionType.email_follow_up
    )
    assert draft.status == "pending" and draft.slack_ts is None
    assert len(stack.cards()) == cards_before, "held: no card at 09:00"

    move_to(stack, datetime(2026, 12, 1, 15, 0, tzinfo=UTC))  # 10:00 in New York
    assert tick(stack.deps).cards == 1
    stack.drain()
    (draft,) = stack.rows(PendingAction, col(PendingAction.id) == draft.id)
    assert draft.slack_ts is not None
    card = wait_for(lambda: stack.cards()[cards_before:], "the follow-up card")[0]
    assert "Follow-up" in card.text or "follow-up" in str(card.blocks).lower()
    assert stack.rows(SlackNotification, col(SlackNotification.dedupe_key) == f"card:{draft.id}")
    assert tick(stack.deps).cards == 0, "posted once"


def test_the_reps_own_command_gets_its_card_even_in_quiet_hours(stack: Stack) -> None:
    stack.schedule("demo with ann@globex.example")  # creates the rep
    quiet(stack, "00:00", "23:59")
    stack.schedule("demo with bob@initech.example")
    stack.drain()
    assert len(wait_for(lambda: stack.cards()[1:], "the second card")) == 1
    assert stack.rows(SlackNotification, col(SlackNotification.kind) == "card") == []
    assert {j.event_type for j in stack.rows(SequenceJob)} == {"scheduling_requested"}
