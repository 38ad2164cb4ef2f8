"""The morning brief on the clock: at each rep's local brief time across the 2026 DST changes,
once a day, only with something to say, never inside quiet hours, within the hourly DM cap;
today's meetings read from the rep's calendar, and a calendar that fails doesn't stop it."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col

from bot.brief_blocks import brief_card, draft_note, settle_item
from bot.local_slack import Message, block_errors
from connectors.calendar.local import LocalCalendar
from connectors.errors import ReconnectRequired, TransientError
from connectors.ports import CalendarEvent, EventAttendee
from db.models import (
    ActionStatus,
    ActionType,
    JobStatus,
    PendingAction,
    Rep,
    RequestStatus,
    SchedulingAction,
    SchedulingAttendee,
    SchedulingRequest,
    SchedulingTemplate,
    SequenceJob,
    SlackNotification,
)
from orchestrator.commands.own_requests import save_settings
from orchestrator.mrkdwn import owner_only
from orchestrator.notices.gate import claim, in_quiet_hours, parse_clock
from orchestrator.outbox.approval_cards import post_action_card
from orchestrator.timers.due import dispatch_due
from orchestrator.views import ActionView, RepProfile
from skills.compose_brief import ActionInfo, BusyTime, RequestInfo, compose_brief
from tests.support.stack import OTHER_ID, REP_ID, Stack, wait_for
from tests.test_mail_intake import a_reply, deliver, send_first_email

TICK = timedelta(minutes=15)
ZONES = {"U0LA": "America/Los_Angeles", "U0BER": "Europe/Berlin", "U0KOL": "Asia/Kolkata"}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def move_to(stack: Stack, moment: datetime) -> None:
    stack.clock.advance(moment - stack.clock.now())


def add_rep(
    stack: Stack,
    slack_id: str,
    tz: str,
    *,
    brief: str = "08:00",
    quiet: tuple[str | None, str | None] = (None, None),
    joined: datetime | None = None,
) -> Rep:
    rep = Rep(
        org_id="T0LOCAL",
        slack_user_id=slack_id,
        email=f"{slack_id.lower()}@northwind.example",
        name=f"Rep {slack_id}",
        timezone=tz,
        brief_time=brief,
        quiet_hours_start=quiet[0],
        quiet_hours_end=quiet[1],
        created_at=joined or stack.clock.now() - timedelta(days=7),
    )
    with stack.deps.uow() as uow:
        uow.session.add(rep)
        uow.commit()
    return rep


def add_request(
    stack: Stack,
    rep: Rep,
    ref: str,
    *,
    status: str = RequestStatus.awaiting_response,
    meeting_start: datetime | None = None,
    draft: bool = False,
    calendar_event_id: str | None = None,
) -> SchedulingRequest:
    now = stack.clock.now()
    request = SchedulingRequest(
        org_id=rep.org_id,
        rep_id=rep.id,
        ref=ref,
        title=f"Demo {ref}",
        status=status,
        attempt_count=1,
        meeting_start=meeting_start,
        meeting_end=meeting_start + timedelta(minutes=30) if meeting_start else None,
        calendar_event_id=calendar_event_id,
        created_at=now - timedelta(days=1),
        updated_at=now,
    )
    with stack.deps.uow() as uow:
        uow.session.add(request)
        uow.session.flush()  # no ORM relationships, so parents go in first by hand
        uow.session.add(
            SchedulingAttendee(
                org_id=rep.org_id,
                request_id=request.id,
                side="external",
                email=f"{ref.lower()}@prospect.example",
                name="Jo Prospect",
                created_at=now,
            )
        )
        if draft:
            uow.session.add(
                PendingAction(
                    org_id=rep.org_id,
                    rep_id=rep.id,
                    request_id=request.id,
                    action_type=ActionType.email_follow_up,
                    action_data={
                        "to": [f"{ref.lower()}@prospect.example"],
                        "subject": "Re: x",
                        "body": "hello",
                        "message_id": f"<draft-{ref}@convene.local>",
                    },
                    idempotency_key=f"draft-{ref}",
                    created_at=now,
                    updated_at=now,
                )
            )
        uow.commit()
    return request


def briefs(stack: Stack) -> list[Message]:
    return [m for m in stack.slack.messages if m.text.startswith("Good morning")]


@dataclass
class Sent:
    channel: str
    at: datetime


def run_clock(stack: Stack, *, until: datetime) -> list[Sent]:
    """Tick every 15 minutes (the clock runs every 30 s; briefs fall on quarter hours)."""
    seen = len(briefs(stack))
    sent: list[Sent] = []
    while stack.clock.now() < until:
        stack.tick()
        new = briefs(stack)[seen:]
        sent += [Sent(m.channel, stack.clock.now()) for m in new]
        seen += len(new)
        stack.clock.advance(TICK)
    return sent


def brief_jobs(stack: Stack, rep: Rep) -> list[SequenceJob]:
    rows = stack.rows(
        SequenceJob,
        SequenceJob.event_type == "morning_brief_due",
        SequenceJob.rep_id == rep.id,
    )
    return sorted(rows, key=lambda j: j.created_at)


# --- three zones across the DST changes --------------------------------------------------------


DST_WEEKS = {
    # US clocks spring forward on Sunday 2026-03-08: Los Angeles moves from 16:00 to 15:00 UTC.
    "us-spring-2026-03-08": (
        at("2026-03-07T00:00"),
        {
            "DU0KOL": ["2026-03-07T02:30", "2026-03-08T02:30", "2026-03-09T02:30"],
            "DU0BER": ["2026-03-07T07:00", "2026-03-08T07:00", "2026-03-09T07:00"],
            "DU0LA": ["2026-03-07T16:00", "2026-03-08T15:00", "2026-03-09T15:00"],
        },
    ),
    # EU clocks spring forward on Sunday 2026-03-29: Berlin moves from 07:00 to 06:00 UTC.
    "eu-spring-2026-03-29": (
        at("2026-03-28T00:00"),
        {
            "DU0KOL": ["2026-03-28T02:30", "2026-03-29T02:30", "2026-03-30T02:30"],
            "DU0BER": ["2026-03-28T07:00", "2026-03-29T06:00", "2026-03-30T06:00"],
            "DU0LA": ["2026-03-28T15:00", "2026-03-29T15:00", "2026-03-30T15:00"],
        },
    ),
    # US clocks fall back on Sunday 2026-11-01: Los Angeles moves from 15:00 to 16:00 UTC.
    "us-fall-2026-11-01": (
        at("2026-10-31T00:00"),
        {
            "DU0KOL": ["2026-10-31T02:30", "2026-11-01T02:30", "2026-11-02T02:30"],
            "DU0BER": ["2026-10-31T07:00", "2026-11-01T07:00", "2026-11-02T07:00"],
            "DU0LA": ["2026-10-31T15:00", "2026-11-01T16:00", "2026-11-02T16:00"],
        },
    ),
}


@pytest.fixture(params=list(DST_WEEKS))
def dst_week(request: pytest.FixtureRequest) -> Iterator[tuple[datetime, dict[str, list[str]]]]:
    yield DST_WEEKS[request.param]


def test_brief_at_local_time_in_three_zones_across_dst(
    stack: Stack, dst_week: tuple[datetime, dict[str, list[str]]]
) -> None:
    start, expected = dst_week
    move_to(stack, start)
    for slack_id, tz in ZONES.items():
        # Joined at the start: Los Angeles is past 08:00 of the day before, so its first brief
        # is the next morning, like the others'.
        rep = add_rep(stack, slack_id, tz, joined=start)
        add_request(stack, rep, f"{slack_id[3:]}-1", draft=True)

    sent = run_clock(stack, until=start + timedelta(days=3))

    got: dict[str, list[str]] = {}
    for item in sent:
        got.setdefault(item.channel, []).append(item.at.strftime("%Y-%m-%dT%H:%M"))
    assert got == expected
    for slack_id, tz in ZONES.items():
        # 08:00 on the wall clock, every day, whatever the UTC offset did.
        for moment in expected[f"D{slack_id}"]:
            assert at(moment).astimezone(ZoneInfo(tz)).strftime("%H:%M") == "08:00"
    rows = stack.rows(SlackNotification, SlackNotification.kind == "morning_brief")
    assert len(rows) == 9
    assert {r.dedupe_key.rsplit(":", 1)[1] for r in rows} == {
        (start + timedelta(days=d)).date().isoformat() for d in range(3)
    }
    jobs = stack.rows(SequenceJob, SequenceJob.event_type == "morning_brief_due")
    assert len(jobs) == 9, "one job per rep per day, however many ticks saw the brief due"
    assert {j.status for j in jobs} == {JobStatus.done}


# --- content and buttons -----------------------------------------------------------------------


def on_calendar(
    stack: Stack, rep: Rep, start: datetime, *, event_id: str, minutes: int = 30
) -> None:
    """An event on the rep's embedded calendar (what Google or Microsoft would hold)."""
    stack.deps.calendar.create_event(
        CalendarEvent(
            event_id=event_id,
            organizer=rep.email,
            title="<!channel> private title",
            start=start,
            end=start + timedelta(minutes=minutes),
            attendees=(EventAttendee(email="someone@prospect.example"),),
        )
    )


def no_reminders(stack: Stack) -> None:
    """Booked meetings here would also get a meeting-day reminder draft; keep the brief's
    attention list to what each test sets up."""
    with stack.deps.uow() as uow:
        uow.session.add(
            SchedulingTemplate(org_id="T0LOCAL", meeting_type="meeting", reminder_rule="none")
        )
        uow.commit()


def brief_sections(brief: Message) -> list[str]:
    return [b["text"]["text"] for b in brief.blocks if b["type"] == "section"]


def test_brief_lists_todays_meetings_and_drafts_and_its_buttons_act(stack: Stack) -> None:
    move_to(stack, at("2026-12-01T15:45"))  # 07:45 in Los Angeles, a Tuesday
    no_reminders(stack)
    rep = add_rep(stack, "U0LA", "America/Los_Angeles")
    add_request(
        stack,
        rep,
        "ACME-1",
        status=RequestStatus.confirmed,
        meeting_start=at("2026-12-01T18:00"),
        calendar_event_id="convene-acme-1",
    )
    on_calendar(stack, rep, at("2026-12-01T18:00"), event_id="convene-acme-1")
    add_request(
        stack, rep, "ACME-2", status=RequestStatus.confirmed, meeting_start=at("2026-12-02T18:00")
    )
    add_request(stack, rep, "ACME-3", draft=True)
    add_request(stack, rep, "ACME-4", status=RequestStatus.paused)
    # Booked by the prospect's own invite (no event id of ours), and then dropped from the
    # calendar: the brief still names it, and says it's gone.
    add_request(
        stack, rep, "ACME-5", status=RequestStatus.confirmed, meeting_start=at("2026-12-01T22:00")
    )
    # The rep's own calendar: an internal meeting Convene knows nothing about.
    on_calendar(stack, rep, at("2026-12-01T17:00"), event_id="pipeline-review", minutes=45)

    stack.tick()
    assert briefs(stack) == []
    stack.clock.advance(TICK)
    stack.tick()

    (brief,) = briefs(stack)
    assert brief.channel == "DU0LA"
    assert brief.text == (
        "Good morning, Rep. Here's your Tuesday. · 3 meetings today · 2 things need you"
    )
    assert brief_sections(brief) == [
        ":sunrise: *Good morning, Rep. Here's your Tuesday.*",
        "*:calendar: Today's meetings (3)*",
        "• *9:00 AM PST* — busy on your calendar until 9:45 AM PST\n"
        "• *10:00 AM PST* — Demo ACME-1 with Jo Prospect (ACME-1) · _booked by Convene_\n"
        "• *2:00 PM PST* — Demo ACME-5 with Jo Prospect (ACME-5)"
        " · :warning: not on your calendar any more",
        "*:envelope: Needs your attention (2)*",
        "• *ACME-3* · Follow-up email to acme-3@prospect.example is waiting for your approval",
        "• *ACME-4* · Demo ACME-4 is paused",
        "*:bar_chart: Scheduling pulse*\n• 1 waiting for a reply\n• 3 booked\n• 1 paused",
    ]
    assert "private title" not in str(brief.blocks), "free/busy only: no titles read"
    (job,) = brief_jobs(stack, rep)
    assert job.outputs["send_brief"]["calendar"] == "read"
    (draft,) = stack.rows(PendingAction)
    assert stack.button_value(brief, "brief_approve") == str(draft.id)
    assert stack.button_value(brief, "edit_action") == str(draft.id)
    stack.click("brief_approve", brief, user="U0LA")
    wait_for(
        lambda: stack.rows(PendingAction, col(PendingAction.status) == ActionStatus.approved),
        "the approval from the brief",
    )

    run_clock(stack, until=at("2026-12-02T07:59"))
    assert len(briefs(stack)) == 1, "never twice a day"


class BrokenCalendar(LocalCalendar):
    """A provider that fails when asked for free/busy."""

    error: Exception = TransientError("calendar API 503")

    def free_busy(self, **kwargs):  # type: ignore[no-untyped-def, override]
        raise self.error


@pytest.mark.parametrize(
    ("error", "note", "why"),
    [
        (
            TransientError("calendar API 503"),
            ":warning: I couldn't read your calendar this morning, so these are only the "
            "meetings I have booked.",
            "unavailable",
        ),
        (
            ReconnectRequired("invalid_grant"),
            ":warning: I couldn't read your calendar: access was revoked. `/schedule connect` "
            "fixes it; until then these are only the meetings I have booked.",
            "reconnect",
        ),
    ],
)
def test_a_calendar_that_fails_does_not_stop_the_brief(
    stack: Stack, error: Exception, note: str, why: str
) -> None:
    move_to(stack, at("2026-12-01T16:00"))  # 08:00 in Los Angeles
    no_reminders(stack)
    broken = BrokenCalendar(stack.deps.sessions, org_id="embedded")
    broken.error = error
    stack.deps.calendar = broken
    rep = add_rep(stack, "U0LA", "America/Los_Angeles")
    add_request(
        stack,
        rep,
        "ACME-1",
        status=RequestStatus.confirmed,
        meeting_start=at("2026-12-01T18:00"),
        calendar_event_id="convene-acme-1",
    )

    stack.tick()

    (brief,) = briefs(stack)
    assert brief_sections(brief)[1:3] == [
        "*:calendar: Today's meetings (1)*",
        "• *10:00 AM PST* — Demo ACME-1 with Jo Prospect (ACME-1) · _booked by Convene_",
    ]
    assert brief.blocks[3] == {"type": "context", "elements": [{"type": "mrkdwn", "text": note}]}
    (job,) = brief_jobs(stack, rep)
    assert job.status == JobStatus.done
    assert job.outputs["send_brief"]["calendar"] == why
    assert job.last_error is None, "not retried as a failure: the brief went out"


def test_review_all_posts_every_waiting_draft_in_one_message(stack: Stack) -> None:
    move_to(stack, at("2026-12-01T16:00"))
    rep = add_rep(stack, "U0LA", "America/Los_Angeles")
    for n in range(1, 4):
        add_request(stack, rep, f"ACME-{n}", draft=True)
    stack.tick()
    (brief,) = briefs(stack)
    header = next(b for b in brief.blocks if "Needs your attention" in str(b))
    assert header["accessory"]["action_id"] == "review_all"

    stack.click("review_all", brief, user="U0LA")
    batch = wait_for(
        lambda: [m for m in stack.slack.messages if "waiting for your approval" in m.text],
        "the batch review card",
    )[0]
    assert batch.channel == "DU0LA"
    assert batch.text == "3 drafts waiting for your approval"
    listed = [b["text"]["text"].split(" · ")[0] for b in batch.blocks if "batch_item" in str(b)]
    assert listed == ["*ACME-1*", "*ACME-2*", "*ACME-3*"]


# --- the brief's buttons act in place ----------------------------------------------------------


def ephemerals(stack: Stack) -> list[str]:
    return [str(r["text"]) for r in stack.slack.responses if r.get("response_type") == "ephemeral"]


def draft_of(stack: Stack, ref: str) -> PendingAction:
    (request,) = stack.rows(SchedulingRequest, col(SchedulingRequest.ref) == ref)
    (draft,) = stack.rows(PendingAction, col(PendingAction.request_id) == request.id)
    return draft


def card_of(stack: Stack, draft: PendingAction) -> Message:
    (row,) = stack.rows(PendingAction, col(PendingAction.id) == draft.id)
    assert row.slack_channel and row.slack_ts
    return stack.slack.message(row.slack_channel, row.slack_ts)


def has_button(message: Message, action_id: str) -> bool:
    return any(
        e.get("action_id") == action_id for b in message.blocks for e in b.get("elements", [])
    )


def note(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def settled(blocks: list[dict[str, Any]], notes: dict[str, str]) -> list[dict[str, Any]]:
    """`blocks` with each actions block named in `notes` (by block id) replaced by its note."""
    return [note(notes[b["block_id"]]) if b.get("block_id") in notes else b for b in blocks]


def test_approve_and_retry_from_the_brief_redraw_that_item_in_place(stack: Stack) -> None:
    move_to(stack, at("2026-12-01T16:00"))  # 08:00 in Los Angeles
    rep = add_rep(stack, "U0LA", "America/Los_Angeles")
    add_request(stack, rep, "ACME-1", draft=True)
    add_request(stack, rep, "ACME-2", draft=True)
    add_request(stack, rep, "ACME-3", status=RequestStatus.paused)
    with stack.deps.uow() as uow:
        failed = uow.session.get_one(PendingAction, draft_of(stack, "ACME-2").id)
        failed.status, failed.error = ActionStatus.failed, "mailbox full"
        uow.session.add(failed)
        uow.commit()
    first, second = draft_of(stack, "ACME-1"), draft_of(stack, "ACME-2")
    for draft in (first, second):
        post_action_card(stack.deps, draft.id)
    stack.tick()

    (brief,) = briefs(stack)
    stale = copy.deepcopy(brief)
    assert [b["block_id"] for b in brief.blocks if b["type"] == "actions"] == [
        f"brief:{first.id}",
        f"brief:{second.id}",
    ]
    assert stack.button_value(brief, "brief_retry") == str(second.id)

    # Someone else's click: refused to them alone; nothing changes anywhere.
    stack.click("brief_approve", stale, user=OTHER_ID)
    wait_for(lambda: owner_only("U0LA") in ephemerals(stack), "the refusal")
    assert draft_of(stack, "ACME-1").status == ActionStatus.pending
    assert brief.history == [] and card_of(stack, first).history == []

    stack.click("brief_approve", stale, user="U0LA")
    wait_for(lambda: brief.history, "the brief redrawn")
    approved = ":white_check_mark: Approved — sending at 8:00 AM PST (Undo on the draft's card)"
    assert brief.blocks == settled(stale.blocks, {f"brief:{first.id}": approved})
    assert brief.text == stale.text
    assert block_errors(brief.blocks) == []
    row = draft_of(stack, "ACME-1")
    assert (row.status, row.decided_by) == (ActionStatus.approved, "U0LA")
    own = card_of(stack, first)
    assert len(own.history) == 1
    assert own.blocks[-1]["block_id"] == f"undo:{first.id}"
    assert own.blocks[-1]["accessory"]["action_id"] == "undo_action"

    # The same button again (a double click, or a client that had not redrawn yet).
    stack.click("brief_approve", stale, user="U0LA")
    wait_for(
        lambda: "Already handled: this draft is approved by <@U0LA>." in ephemerals(stack),
        "the second click told",
    )
    assert len(brief.history) == 1 and len(card_of(stack, first).history) == 1
    assert draft_of(stack, "ACME-1").status == ActionStatus.approved

    # Retry on the brief as it now stands: the approval's outcome stays, the retry's joins it.
    current = copy.deepcopy(brief)
    stack.click("brief_retry", current, user="U0LA")
    wait_for(lambda: len(brief.history) == 2, "the brief redrawn again")
    retried = ":repeat: Retrying now — the draft's card shows how it goes"
    assert brief.blocks == settled(
        stale.blocks, {f"brief:{first.id}": approved, f"brief:{second.id}": retried}
    )
    assert not [b for b in brief.blocks if b["type"] == "actions"]
    assert block_errors(brief.blocks) == []
    assert draft_of(stack, "ACME-2").status == ActionStatus.approved
    assert card_of(stack, second).blocks[-1]["block_id"] == f"undo:{second.id}"


def test_a_meeting_check_answered_from_the_brief_is_recorded_once(stack: Stack) -> None:
    move_to(stack, at("2026-12-01T16:00"))  # 08:00 in Los Angeles
    no_reminders(stack)
    rep = add_rep(stack, "U0LA", "America/Los_Angeles")
    start = at("2026-11-30T19:00")  # yesterday's meeting; nobody said how it went
    request = add_request(stack, rep, "ACME-9", status=RequestStatus.confirmed, meeting_start=start)
    add_request(stack, rep, "ACME-3", draft=True)
    stack.tick()

    (brief,) = briefs(stack)
    stale = copy.deepcopy(brief)
    assert "• *ACME-9* · Demo ACME-9: did the meeting happen?" in brief_sections(brief)
    # The after-the-meeting card asks too; answering either redraws both.
    (check_card,) = [m for m in stack.slack.messages if has_button(m, "meeting_held")]
    block_id = f"brief:meeting:{request.id}"
    (buttons,) = [b for b in brief.blocks if b.get("block_id") == block_id]
    assert [(e["action_id"], e["value"]) for e in buttons["elements"]] == [
        (name, f"{request.id}|{int(start.timestamp())}")
        for name in ("brief_meeting_held", "brief_meeting_no_show", "brief_meeting_rescheduled")
    ]

    stack.click("brief_meeting_held", stale, user=OTHER_ID)
    wait_for(
        lambda: "ACME-9 belongs to <@U0LA>; only they can answer." in ephemerals(stack),
        "the refusal",
    )
    assert stack.rows(SchedulingRequest, col(SchedulingRequest.id) == request.id)[0].status == (
        RequestStatus.confirmed
    )
    assert brief.history == []

    stack.click("brief_meeting_held", stale, user="U0LA")
    wait_for(lambda: brief.history, "the brief redrawn")
    assert brief.blocks == settled(stale.blocks, {block_id: ":white_check_mark: Held"})
    assert block_errors(brief.blocks) == []
    assert len(check_card.history) == 1
    assert check_card.blocks[-1]["type"] == "context"
    assert not has_button(check_card, "meeting_held")
    (answered,) = stack.rows(SchedulingRequest, col(SchedulingRequest.id) == request.id)
    assert (answered.status, answered.outcome) == (RequestStatus.completed, "held")
    held = col(SchedulingAction.action_type) == "meeting_held"
    assert [(a.actor, a.details["meeting_start"]) for a in stack.rows(SchedulingAction, held)] == [
        ("user", start.isoformat())
    ]

    stack.click("brief_meeting_held", stale, user="U0LA")
    wait_for(
        lambda: "Already answered: ACME-9 was marked held by <@U0LA>." in ephemerals(stack),
        "the second click told",
    )
    assert len(brief.history) == 1 and len(check_card.history) == 1
    assert len(stack.rows(SchedulingAction, held)) == 1


def test_open_on_a_decision_posts_its_card_again_and_redraws_the_item(stack: Stack) -> None:
    first = send_first_email(stack)
    deliver(stack, a_reply(first, "Thanks, but we're not interested. Take us off your list."))
    stack.poll_mail()
    stack.tick()
    (request,) = stack.rows(SchedulingRequest)
    assert request.event_next_action_subtype == "recommend_cancel"
    (original,) = decision_cards(stack)

    move_to(stack, at("2026-12-01T13:00"))  # 08:00 the next morning in New York
    stack.tick()
    (brief,) = briefs(stack)
    stale = copy.deepcopy(brief)
    block_id = f"brief:decision:{request.id}"
    (buttons,) = [b for b in brief.blocks if b.get("block_id") == block_id]
    assert [(e["action_id"], e["value"]) for e in buttons["elements"]] == [
        ("brief_open_decision", str(request.id))
    ]

    stack.click("brief_open_decision", stale, user=OTHER_ID)
    wait_for(lambda: owner_only(REP_ID) in ephemerals(stack), "the refusal")
    assert len(decision_cards(stack)) == 1 and brief.history == []

    stack.click("brief_open_decision", stale)
    wait_for(lambda: brief.history, "the brief redrawn")
    again = decision_cards(stack)[-1]
    assert again.ts != original.ts and again.channel == original.channel == brief.channel
    assert (again.text, again.blocks) == (original.text, original.blocks)
    assert brief.blocks == settled(
        stale.blocks, {block_id: ":point_down: Its card is posted again below; decide there."}
    )
    assert block_errors(brief.blocks) == []

    # The card posted again decides like the first; the brief's stale Open is told so.
    stack.click("decision_cancel_request", again)
    wait_for(
        lambda: stack.rows(SchedulingRequest)[0].status == RequestStatus.cancelled, "cancelled"
    )
    stack.click("brief_open_decision", stale)
    wait_for(
        lambda: "Already decided: ACME-1 is no longer waiting on you." in ephemerals(stack),
        "the stale Open told",
    )
    assert len(decision_cards(stack)) == 2 and len(brief.history) == 1


def decision_cards(stack: Stack) -> list[Message]:
    """Every decision card posted, as first posted (a card answered since included)."""
    return [
        m
        for m in stack.slack.messages
        if any(
            e.get("action_id") == "decision_cancel_request"
            for version in [*m.history[:1], {"blocks": m.blocks}]
            for b in version["blocks"]
            for e in b.get("elements", [])
        )
    ]


def test_rep_with_nothing_to_say_gets_no_brief(stack: Stack) -> None:
    move_to(stack, at("2026-12-01T15:45"))
    rep = add_rep(stack, "U0LA", "America/Los_Angeles")
    add_request(stack, rep, "ACME-1")  # waiting for a reply, nothing at risk: no news

    run_clock(stack, until=at("2026-12-02T16:30"))

    assert briefs(stack) == []
    jobs = brief_jobs(stack, rep)
    assert [j.idempotency_key for j in jobs] == [
        f"morning_brief:{rep.id}:2026-12-01",
        f"morning_brief:{rep.id}:2026-12-02",
    ]
    assert [j.outputs["send_brief"] for j in jobs] == [{"skipped": "nothing to say"}] * 2
    assert [j.created_at for j in jobs] == [at("2026-12-01T16:00"), at("2026-12-02T16:00")]
    # Nothing was posted or kept for the rep. (The ops channel's health findings share the
    # table, with no rep: this request, made up with no wake-up, is one.)
    assert [n for n in stack.rows(SlackNotification) if n.rep_id is not None] == []


def test_rep_who_joined_after_brief_time_starts_tomorrow(stack: Stack) -> None:
    move_to(stack, at("2026-12-01T17:00"))  # 09:00 in Los Angeles
    rep = add_rep(stack, "U0LA", "America/Los_Angeles", joined=stack.clock.now())
    add_request(stack, rep, "ACME-1", draft=True)
    sent = run_clock(stack, until=at("2026-12-02T17:00"))
    assert [s.at for s in sent] == [at("2026-12-02T16:00")]


def test_a_brief_time_changed_in_settings_applies_from_the_next_morning(stack: Stack) -> None:
    """The clock keeps when it next looks at each rep's brief; saving settings makes it work
    that out again, so an earlier brief time is not missed for the old one."""
    move_to(stack, at("2026-12-01T14:00"))  # 06:00 in Los Angeles
    rep = add_rep(stack, "U0LA", "America/Los_Angeles")
    add_request(stack, rep, "ACME-1", draft=True)
    sent = run_clock(stack, until=at("2026-12-01T17:00"))
    assert [s.at for s in sent] == [at("2026-12-01T16:00")]  # 08:00, and next at 08:00

    profile = RepProfile(rep.slack_user_id, rep.email, rep.name, rep.timezone)
    save_settings(
        stack.deps,
        org_id=rep.org_id,
        profile=profile,
        timezone=rep.timezone,
        working_hours={},
        brief_time="06:30",
        quiet_hours=(None, None),
        daily_send_limit=50,
        delegates=[],
    )
    sent = run_clock(stack, until=at("2026-12-02T17:00"))
    assert [s.at for s in sent] == [at("2026-12-02T14:30")]


# --- quiet hours and the hourly cap ------------------------------------------------------------


def test_quiet_hours_hold_the_brief_until_they_end(stack: Stack) -> None:
    move_to(stack, at("2026-03-28T00:00"))
    # Quiet from 22:00 to 09:30 Berlin time (wrapping midnight); the brief is due at 08:00.
    rep = add_rep(stack, "U0BER", "Europe/Berlin", quiet=("22:00", "09:30"))
    add_request(stack, rep, "BER-1", draft=True)

    sent = run_clock(stack, until=at("2026-03-30T00:00"))

    # 09:30 CET, then 09:30 CEST after the EU change.
    assert [s.at for s in sent] == [at("2026-03-28T08:30"), at("2026-03-29T07:30")]
    jobs = brief_jobs(stack, rep)
    assert [j.created_at for j in jobs] == [at("2026-03-28T08:30"), at("2026-03-29T07:30")]


def _notices(stack: Stack, rep: Rep, local_times: list[str], day: str) -> None:
    zone = ZoneInfo(rep.timezone)
    with stack.deps.uow() as uow:
        for n, clock in enumerate(local_times):
            moment = datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=zone)
            claim(
                uow.session,
                rep=rep,
                kind="notice",
                dedupe_key=f"notice:{rep.id}:{day}:{n}",
                channel=f"D{rep.slack_user_id}",
                now=moment.astimezone(UTC),
            )
        uow.commit()


def test_hourly_cap_holds_the_brief_until_the_hour_frees_up(stack: Stack) -> None:
    move_to(stack, at("2026-12-01T15:00"))  # 07:00 in Los Angeles
    rep = add_rep(stack, "U0LA", "America/Los_Angeles")
    add_request(stack, rep, "ACME-1", draft=True)
    _notices(stack, rep, ["07:10", "07:20", "07:30", "07:40", "07:50", "07:55"], "2026-12-01")

    sent = run_clock(stack, until=at("2026-12-01T17:00"))

    # Six DMs since 07:10 fill the cap of six until 08:10; the next tick is 08:15.
    assert [s.at for s in sent] == [at("2026-12-01T16:15")]
    (job,) = brief_jobs(stack, rep)
    assert job.created_at == at("2026-12-01T16:15")


def test_cap_filled_between_dispatch_and_send_holds_then_retries(stack: Stack) -> None:
    move_to(stack, at("2026-12-01T16:00"))  # 08:00 in Los Angeles
    rep = add_rep(stack, "U0LA", "America/Los_Angeles")
    add_request(stack, rep, "ACME-1", draft=True)

    dispatch_due(stack.deps)  # the clock sees the brief due …
    _notices(stack, rep, ["08:00"] * 6, "2026-12-01")  # … and other DMs get there first
    stack.drain()
    assert briefs(stack) == []
    (held,) = brief_jobs(stack, rep)
    assert held.outputs["send_brief"] == {"held": "6 DMs in the last hour already"}

    sent = run_clock(stack, until=at("2026-12-01T17:30"))
    assert [s.at for s in sent] == [at("2026-12-01T17:00")]
    assert [j.idempotency_key for j in brief_jobs(stack, rep)] == [
        f"morning_brief:{rep.id}:2026-12-01",
        f"morning_brief:{rep.id}:2026-12-01#2",
    ]


# --- pure parts --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("local", "start", "end", "quiet"),
    [
        ("23:00", "22:00", "07:00", True),
        ("06:59", "22:00", "07:00", True),
        ("07:00", "22:00", "07:00", False),
        ("12:00", "12:00", "13:00", True),
        ("13:00", "12:00", "13:00", False),
        ("03:00", "09:00", "09:00", False),
        ("03:00", None, "07:00", False),
    ],
)
def test_quiet_hours_wrap_midnight(
    local: str, start: str | None, end: str | None, quiet: bool
) -> None:
    assert (
        in_quiet_hours(
            local=time.fromisoformat(local), start=parse_clock(start), end=parse_clock(end)
        )
        is quiet
    )


def test_a_busy_brief_stays_within_slacks_limits() -> None:
    now = at("2026-12-01T16:00")
    requests = [
        RequestInfo(
            ref=f"ACME-{n}",
            title="<!channel> " + "x" * 200,
            status="confirmed",
            unanswered=1,
            created_at=now - timedelta(days=1),
            meeting_start=now + timedelta(minutes=n),
            prospect="<@U123> Eve",
        )
        for n in range(30)
    ]
    actions = [
        ActionInfo(action_id=f"id-{n}", ref=f"ACME-{n}", title="Follow-up email", status="pending")
        for n in range(40)
    ]
    brief = compose_brief(
        rep_name="Rita", timezone="America/Los_Angeles", now=now, requests=requests, actions=actions
    )
    assert brief is not None
    text, blocks = brief_card(brief)
    assert block_errors(blocks) == []
    assert len(blocks) == 26
    assert "<!channel>" not in str(blocks) and "<@U123>" not in str(blocks)
    assert "&lt;!channel&gt;" in str(blocks)
    assert blocks[-2] == {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": "…and 30 more on your Home tab."}],
    }
    assert (
        text == "Good morning, Rita. Here's your Tuesday. · 30 meetings today · 40 things need you"
    )


def test_a_busy_calendar_day_stays_within_slacks_limits() -> None:
    now = at("2026-12-01T16:00")
    requests = [
        RequestInfo(
            ref=f"ACME-{n}",
            title="<!channel> " + "x" * 200,
            status="confirmed",
            unanswered=1,
            created_at=now - timedelta(days=1),
            meeting_start=now + timedelta(minutes=20 * n),
            meeting_end=now + timedelta(minutes=20 * n + 20),
            prospect="<@U123> Eve",
            calendar_event_id=f"convene-{n}" if n % 2 else None,
        )
        for n in range(20)
    ]
    busy = [
        BusyTime(start=now + timedelta(minutes=20 * n), end=now + timedelta(minutes=20 * n + 20))
        for n in range(40)
    ]
    actions = [
        ActionInfo(action_id=f"id-{n}", ref=f"ACME-{n}", title="Follow-up email", status="pending")
        for n in range(40)
    ]
    for calendar, problem in ((busy, ""), (None, "reconnect")):
        brief = compose_brief(
            rep_name="Rita",
            timezone="America/Los_Angeles",
            now=now,
            requests=requests,
            actions=actions,
            calendar=calendar,
            calendar_problem=problem,  # type: ignore[arg-type]
        )
        assert brief is not None
        # Read: the 20 requests named, plus the 20 other busy stretches of the day.
        assert len(brief.meetings) == (40 if calendar else 20)
        text, blocks = brief_card(brief)
        assert block_errors(blocks) == []
        assert len(blocks) <= 50
        dumped = str(blocks)
        assert "<!channel>" not in dumped and "<@U123>" not in dumped
        action_ids = [
            e["action_id"]
            for b in blocks
            for e in [*b.get("elements", []), b.get("accessory") or {}]
            if "action_id" in e
        ]
        assert action_ids.count("review_all") == 1


def test_a_meeting_inside_merged_busy_time_is_named_and_the_rest_stays_busy() -> None:
    # Google's free/busy merges back-to-back events into one stretch.
    now = at("2026-12-01T16:00")  # 08:00 in Los Angeles
    booked = RequestInfo(
        ref="ACME-1",
        title="Demo",
        status="confirmed",
        unanswered=1,
        created_at=now - timedelta(days=1),
        meeting_start=at("2026-12-01T18:00"),
        meeting_end=at("2026-12-01T18:30"),
        calendar_event_id="convene-1",
    )
    brief = compose_brief(
        rep_name="Rita",
        timezone="America/Los_Angeles",
        now=now,
        requests=[booked],
        actions=[],
        # Yesterday evening into today, and 09:00-11:00 around the demo at 10:00.
        calendar=[
            BusyTime(start=at("2026-12-01T06:00"), end=at("2026-12-01T09:00")),
            BusyTime(start=at("2026-12-01T17:00"), end=at("2026-12-01T19:00")),
        ],
    )
    assert brief is not None
    assert [(m.ref, m.start, m.end, m.booked_by_convene) for m in brief.meetings] == [
        ("", at("2026-12-01T08:00"), at("2026-12-01T09:00"), False),  # from local midnight
        ("", at("2026-12-01T17:00"), at("2026-12-01T18:00"), False),
        ("ACME-1", at("2026-12-01T18:00"), at("2026-12-01T18:30"), True),
        ("", at("2026-12-01T18:30"), at("2026-12-01T19:00"), False),
    ]
    assert brief.calendar_note == ""


def test_brief_items_get_their_own_buttons_and_settle_one_at_a_time() -> None:
    now = at("2026-12-01T16:00")  # 08:00 in Los Angeles
    ended = at("2026-11-30T19:00")
    requests = [
        RequestInfo(
            ref="ACME-1",
            title="Demo",
            status="confirmed",
            unanswered=1,
            created_at=now - timedelta(days=3),
            meeting_start=ended,
            meeting_end=ended + timedelta(minutes=30),
            request_id="req-1",
        ),
        RequestInfo(
            ref="ACME-2",
            title="Intro",
            status="negotiating",
            unanswered=1,
            created_at=now - timedelta(days=3),
            decision="unusual",
            request_id="req-2",
        ),
        # Without a request id (nothing to act on) a decision is listed, without a button.
        RequestInfo(
            ref="ACME-3",
            title="Call",
            status="negotiating",
            unanswered=1,
            created_at=now - timedelta(days=3),
            decision="unusual",
        ),
    ]
    actions = [
        ActionInfo(action_id="act-4", ref="ACME-4", title="Follow-up email", status="pending"),
        ActionInfo(action_id="act-5", ref="ACME-5", title="Reminder email", status="failed"),
    ]
    brief = compose_brief(
        rep_name="Rita", timezone="America/Los_Angeles", now=now, requests=requests, actions=actions
    )
    assert brief is not None
    _, blocks = brief_card(brief)
    assert block_errors(blocks) == []
    buttons = {
        b["block_id"]: [(e["action_id"], e["value"]) for e in b["elements"]]
        for b in blocks
        if b["type"] == "actions"
    }
    token = str(int(ended.timestamp()))
    assert buttons == {
        "brief:act-4": [("brief_approve", "act-4"), ("edit_action", "act-4")],
        "brief:act-5": [("brief_retry", "act-5")],
        "brief:meeting:req-1": [
            ("brief_meeting_held", f"req-1|{token}"),
            ("brief_meeting_no_show", f"req-1|{token}"),
            ("brief_meeting_rescheduled", f"req-1|{token}"),
        ],
        "brief:decision:req-2": [("brief_open_decision", "req-2")],
    }

    once = settle_item(blocks, action_id="brief_retry", value="act-5", note="retried")
    assert once == [note("retried") if b.get("block_id") == "brief:act-5" else b for b in blocks]
    twice = settle_item(once, action_id="brief_meeting_held", value=f"req-1|{token}", note="held")
    assert twice == [
        note({"brief:act-5": "retried", "brief:meeting:req-1": "held"}[b["block_id"]])
        if b.get("block_id") in ("brief:act-5", "brief:meeting:req-1")
        else b
        for b in blocks
    ]
    # A button no longer on the brief, or one from another card, settles nothing.
    assert settle_item(once, action_id="brief_retry", value="act-5", note="again") is None
    assert settle_item(blocks, action_id="brief_approve", value="act-9", note="x") is None
    approve = [b for b in blocks if b.get("block_id") == "brief:act-4"][0]["elements"]
    card = [{"type": "actions", "block_id": "decide:act-4", "elements": approve}]
    assert settle_item(card, action_id="brief_approve", value="act-4", note="x") is None


def test_a_drafts_outcome_reads_in_the_reps_zone() -> None:
    view = ActionView(
        action_id="act-1",
        action_type="email_follow_up",
        status="approved",
        to=("jo@prospect.example",),
        subject="Re: Demo",
        body="Hi",
        reasoning="",
        confidence=None,
        request_ref="ACME-1",
        request_title="Demo",
        rep_timezone="Europe/Berlin",
        undo_until=at("2026-12-01T09:02:30"),
        decided_by="U0BER",
        executed_at=None,
        error=None,
    )
    assert draft_note("approve", view) == (
        ":white_check_mark: Approved — sending at 10:02 AM CET (Undo on the draft's card)"
    )
    assert draft_note("retry", view) == ":repeat: Retrying now — the draft's card shows how it goes"
