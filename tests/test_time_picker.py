"""`/schedule times`: the time picker over signed HTTP — both zones and "early/late for them",
email the ticked times, invite for one, show more, leave it to the rep — plus its pure parts."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, unquote

import pytest
from sqlmodel import col, select

from bot.local_slack import Message, block_errors
from bot.picker_blocks import fit_for_them, option_line, picker_card, time_range
from bot.slack_requests import button_click, post_signed
from connectors.ports import CalendarEvent
from db.models import (
    ActionType,
    JobStatus,
    LocalCalendarEvent,
    PendingAction,
    RequestStatus,
    SchedulingAttendee,
    SchedulingRequest,
    SequenceJob,
)
from orchestrator.steps.find_times import PickOutcome, choose
from orchestrator.views import PickerOption, PickerView
from tests.support.stack import OTHER_ID, REP_EMAIL, REP_ID, SECRET, Stack, wait_for

PROSPECT = "john@acme.example"
NY, BERLIN = "America/New_York", "Europe/Berlin"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# --- driving the picker -------------------------------------------------------------------------


def open_picker(
    stack: Stack,
    text: str = f"times demo with {PROSPECT} next week 30m",
    *,
    prospect_tz: str | None = None,
    prospect_name: str = "",
) -> Message:
    assert "I'll DM you the times to pick from" in stack.schedule(text)
    if prospect_tz or prospect_name:
        # What a CRM or an email signature would have told us about them.
        with stack.deps.uow() as uow:
            row = uow.session.exec(
                select(SchedulingAttendee).where(SchedulingAttendee.side == "external")
            ).one()
            row.timezone, row.name = prospect_tz, prospect_name
            uow.session.add(row)
            uow.commit()
    stack.drain()
    (card,) = wait_for(stack.cards, "the time picker")
    return card


def current(stack: Stack, card: Message) -> Message:
    live = stack.slack.message(card.channel, card.ts)
    return Message(live.channel, live.ts, live.text, json.loads(json.dumps(live.blocks)))


def checkbox_values(card: Message) -> list[str]:
    (block,) = [b for b in card.blocks if b.get("block_id", "").startswith("picker_pick:")]
    return [o["value"] for o in block["elements"][0]["options"]]


def press(
    stack: Stack,
    card: Message,
    action_id: str,
    *,
    ticked: Sequence[str] = (),
    user: str = REP_ID,
) -> str:
    """Click `action_id` with `ticked` boxes, as Slack sends it (state and message included);
    returns the response_url hook name the listener may answer on."""
    hook = f"picker-{action_id}-{len(stack.slack.calls)}-{user}"
    raw = button_click(
        action_id=action_id,
        value=stack.button_value(card, action_id),
        user_id=user,
        team_id=stack.slack.team_id,
        response_url=stack.slack.hook_url(hook),
        channel_id=card.channel,
        message_ts=card.ts,
    )
    payload = json.loads(unquote(raw.decode().removeprefix("payload=")))
    picks = [b["block_id"] for b in card.blocks if b.get("block_id", "").startswith("picker_pick:")]
    payload["state"] = {
        "values": {
            block_id: {
                "picker_select": {
                    "type": "checkboxes",
                    "selected_options": [{"value": v} for v in ticked],
                }
            }
            for block_id in picks
        }
    }
    payload["message"] = {"ts": card.ts, "text": card.text, "blocks": card.blocks}
    body = ("payload=" + quote(json.dumps(payload))).encode()
    reply = post_signed(stack.events_url, body, secret=SECRET)
    assert reply.status == 200 and reply.body == ""
    return hook


def ephemeral(stack: Stack, hook: str) -> str:
    found = wait_for(
        lambda: [r for r in stack.slack.responses if r["hook"] == hook], "the ephemeral reply"
    )
    assert found[-1]["response_type"] == "ephemeral"
    return str(found[-1]["text"])


def updated(stack: Stack, card: Message, versions: int = 1) -> Message:
    wait_for(
        lambda: len(stack.slack.message(card.channel, card.ts).history) >= versions,
        "the picker to be redrawn",
    )
    return current(stack, card)


def picker_jobs(stack: Stack, event_type: str) -> list[SequenceJob]:
    return stack.rows(SequenceJob, SequenceJob.event_type == event_type)


def busy(stack: Stack, start: datetime, end: datetime, title: str = "Board") -> None:
    with stack.deps.uow() as uow:
        uow.session.add(
            LocalCalendarEvent(
                org_id="embedded",
                calendar=REP_EMAIL,
                event_id=f"busy-{start.isoformat()}",
                title=title,
                start=start,
                end=end,
            )
        )
        uow.commit()


def assert_within_slack_limits(blocks: list[dict[str, Any]]) -> None:
    assert block_errors(blocks) == []
    ids = [
        e["action_id"]
        for b in blocks
        for e in [*b.get("elements", []), b.get("accessory") or {}]
        if "action_id" in e
    ]
    assert len(ids) == len(set(ids)), "action ids unique in the whole message"
    for block in blocks:
        for element in block.get("elements", []):
            for option in element.get("options", []):
                assert len(option["text"]["text"]) <= 75
                assert len(option.get("description", {}).get("text", "")) <= 75
        if block["type"] == "context":
            assert all(len(e["text"]) <= 3000 for e in block["elements"])


# --- the card -----------------------------------------------------------------------------------


def test_picker_shows_both_zones_and_late_for_them(stack: Stack) -> None:
    # Tuesday Dec 1, rep in New York busy all morning: what's left is evening in Berlin.
    busy(stack, at("2026-12-01T14:00"), at("2026-12-01T17:00"))
    card = open_picker(
        stack, f"times demo with {PROSPECT} tomorrow", prospect_tz=BERLIN, prospect_name="Jo Berg"
    )
    assert card.channel == "DU0REP"
    assert_within_slack_limits(card.blocks)
    assert card.text == "Times for a 30 min demo with Jo Berg (ACME-1)"
    assert card.blocks[0]["text"]["text"] == (
        ":calendar: *Times for a 30 min demo with Jo Berg* · ACME-1"
    )
    (options,) = [b for b in card.blocks if b.get("block_id", "").startswith("picker_pick:")]
    shown = [
        (o["text"]["text"], o["description"]["text"]) for o in options["elements"][0]["options"]
    ]
    assert shown == [
        ("Tue Dec 1, 12:00–12:30 PM EST", "For them: 6:00–6:30 PM CET :warning: late for them"),
        ("Tue Dec 1, 12:30–1:00 PM EST", "For them: 6:30–7:00 PM CET :warning: late for them"),
        ("Tue Dec 1, 1:00–1:30 PM EST", "For them: 7:00–7:30 PM CET :warning: late for them"),
        ("Tue Dec 1, 1:30–2:00 PM EST", "For them: 7:30–8:00 PM CET :warning: late for them"),
    ]
    buttons = [e["action_id"] for e in card.blocks[3]["elements"]]
    assert buttons == ["picker_email", "picker_invite", "picker_handle"], "nothing more to show"
    (job,) = picker_jobs(stack, "calendar_find_times")
    assert job.status == JobStatus.done
    assert job.outputs["offer_times"] == {"channel": card.channel, "ts": card.ts}
    assert stack.rows(PendingAction) == [], "a picker drafts nothing until the rep picks"


def test_a_prospects_name_cannot_ping_the_channel(stack: Stack) -> None:
    card = open_picker(stack, prospect_name="<!channel> Eve <@U0BOSS>")
    text = json.dumps(card.blocks) + card.text
    assert "<!channel>" not in text and "<@U0BOSS>" not in text
    assert "&lt;!channel&gt; Eve &lt;@U0BOSS&gt;" in card.blocks[0]["text"]["text"]


def test_show_more_pages_through_the_times_in_place(stack: Stack) -> None:
    card = open_picker(stack)
    first = checkbox_values(card)
    assert first == ["0", "1", "2", "3"]
    assert "times 1–4 of 12" in card.blocks[1]["elements"][0]["text"]

    press(stack, card, "picker_more")
    second = updated(stack, card, 1)
    assert checkbox_values(second) == ["4", "5", "6", "7"]
    assert "times 5–8 of 12" in second.blocks[1]["elements"][0]["text"]
    assert_within_slack_limits(second.blocks)

    press(stack, second, "picker_more")
    third = updated(stack, card, 2)
    assert checkbox_values(third) == ["8", "9", "10", "11"]
    assert "picker_more" not in json.dumps(third.blocks), "the last page has no Show more"
    assert len(stack.slack.calls_to("chat.postMessage")) == 1, "updated in place, not reposted"
    (job,) = picker_jobs(stack, "calendar_find_times")
    starts = [o["start"] for o in job.outputs["find_times"]["options"]]
    assert len(set(starts)) == 12


# --- acting on the choice -----------------------------------------------------------------------


def test_email_the_ticked_times_drafts_them_for_approval_and_sends_after_approve(
    stack: Stack,
) -> None:
    card = open_picker(stack)
    press(stack, card, "picker_email", ticked=["0", "2"])
    final = updated(stack, card)
    assert "picker_email" not in json.dumps(final.blocks), "the choice is final"
    assert final.blocks[-1]["elements"][0]["text"] == (
        f":email: <@{REP_ID}> chose to email these times; the draft comes here for approval."
    )
    assert final.blocks[1]["text"]["text"].count("\n") == 1, "the two ticked times"

    stack.drain()
    (draft,) = stack.rows(PendingAction)
    assert draft.action_type == ActionType.email_initial
    (job,) = picker_jobs(stack, "calendar_find_times")
    options = job.outputs["find_times"]["options"]
    assert draft.action_data["slots"] == [options[0]["start"], options[2]["start"]]
    assert draft.action_data["to"] == [PROSPECT]
    (chosen,) = picker_jobs(stack, "calendar_times_chosen")
    assert chosen.parent_job_id == job.id
    assert chosen.status == JobStatus.waiting_approval
    approval = wait_for(lambda: [c for c in stack.cards() if c.ts != card.ts], "approval card")[0]
    assert "First scheduling email" in json.dumps(approval.blocks)

    stack.click("approve_action", approval)
    wait_for(lambda: stack.rows(PendingAction, col(PendingAction.status) == "approved"), "approve")
    assert stack.inbox(PROSPECT) == [], "the undo window applies"
    stack.clock.advance(timedelta(seconds=stack.deps.settings.undo_seconds))
    stack.tick()
    (mail,) = stack.inbox(PROSPECT)
    assert "Subject:" in mail.raw
    (request,) = stack.rows(SchedulingRequest)
    assert request.status == RequestStatus.awaiting_response
    assert [s["start"] for s in request.proposed_slots] == draft.action_data["slots"]


def test_email_with_nothing_ticked_offers_every_time_shown(stack: Stack) -> None:
    card = open_picker(stack)
    press(stack, card, "picker_more")
    second = updated(stack, card)
    press(stack, second, "picker_email")
    updated(stack, card, 2)
    stack.drain()
    (draft,) = stack.rows(PendingAction)
    (job,) = picker_jobs(stack, "calendar_find_times")
    options = job.outputs["find_times"]["options"]
    assert draft.action_data["slots"] == [o["start"] for o in options[4:8]]


def test_invite_needs_exactly_one_time_then_books_it_after_approval(stack: Stack) -> None:
    card = open_picker(stack)
    assert ephemeral(stack, press(stack, card, "picker_invite")) == (
        "Tick exactly one time for the invite."
    )
    assert ephemeral(stack, press(stack, card, "picker_invite", ticked=["1", "2"])) == (
        "Tick exactly one time for the invite."
    )
    assert picker_jobs(stack, "calendar_times_chosen") == []

    press(stack, card, "picker_invite", ticked=["1"])
    final = updated(stack, card)
    assert f":calendar: <@{REP_ID}> chose to send an invite" in json.dumps(final.blocks)
    stack.drain()
    (booking,) = stack.rows(PendingAction)
    (job,) = picker_jobs(stack, "calendar_find_times")
    option = job.outputs["find_times"]["options"][1]
    assert booking.action_type == ActionType.calendar_book
    assert (booking.action_data["start"], booking.action_data["end"]) == (
        option["start"],
        option["end"],
    )
    assert booking.action_data["attendees"] == [{"email": PROSPECT, "name": "", "optional": False}]
    approval = wait_for(lambda: [c for c in stack.cards() if c.ts != card.ts], "approval card")[0]
    stack.click("approve_action", approval)
    wait_for(lambda: stack.rows(PendingAction, col(PendingAction.status) == "approved"), "approve")
    stack.clock.advance(timedelta(seconds=stack.deps.settings.undo_seconds))
    stack.tick()

    (request,) = stack.rows(SchedulingRequest)
    assert request.status == RequestStatus.confirmed
    assert request.meeting_start == datetime.fromisoformat(option["start"])
    assert request.calendar_event_id == f"convene-{booking.id.hex}"
    events = stack.rows(
        LocalCalendarEvent, LocalCalendarEvent.event_id == request.calendar_event_id
    )
    assert REP_EMAIL in {e.calendar for e in events}
    # An invitation (the embedded calendar's), not a scheduling email.
    (invite,) = stack.inbox(PROSPECT)
    assert "text/calendar; method=REQUEST" in invite.raw.replace('"', "")


def test_invite_for_a_time_taken_since_is_refused_not_drafted(stack: Stack) -> None:
    card = open_picker(stack)
    (job,) = picker_jobs(stack, "calendar_find_times")
    option = job.outputs["find_times"]["options"][0]
    stack.deps.calendar.create_event(
        CalendarEvent(
            event_id="late-arrival",
            organizer=REP_EMAIL,
            title="Booked meanwhile",
            start=datetime.fromisoformat(option["start"]),
            end=datetime.fromisoformat(option["end"]),
        )
    )
    press(stack, card, "picker_invite", ticked=["0"])
    updated(stack, card)
    stack.drain()
    assert stack.rows(PendingAction) == []
    (chosen,) = picker_jobs(stack, "calendar_times_chosen")
    assert chosen.status == JobStatus.failed
    told = wait_for(
        lambda: [m for m in stack.slack.messages if "no longer free" in m.text], "the rep told"
    )
    assert "`/schedule times` finds fresh ones" in told[0].text


def test_ill_handle_this_leaves_it_to_the_rep_and_sends_nothing(stack: Stack) -> None:
    card = open_picker(stack)
    press(stack, card, "picker_handle")
    final = updated(stack, card)
    assert final.blocks[-1]["elements"][0]["text"] == (
        f":raised_hand: <@{REP_ID}> took this over: ACME-1 is paused and nothing was sent. "
        "`/schedule resume ACME-1` hands it back."
    )
    stack.drain()
    (request,) = stack.rows(SchedulingRequest)
    assert request.status == RequestStatus.paused
    assert stack.rows(PendingAction) == []
    assert stack.inbox(PROSPECT) == []
    (chosen,) = picker_jobs(stack, "calendar_times_chosen")
    assert chosen.status == JobStatus.done


def test_a_second_click_is_told_it_was_already_handled(stack: Stack) -> None:
    card = open_picker(stack)
    press(stack, card, "picker_handle")
    updated(stack, card)
    # The old card, as a slow client still shows it.
    answer = ephemeral(stack, press(stack, card, "picker_email", ticked=["0"]))
    assert answer == f"Already handled: <@{REP_ID}> took it over."
    assert ephemeral(stack, press(stack, card, "picker_more")) == answer
    stack.drain()
    assert len(picker_jobs(stack, "calendar_times_chosen")) == 1
    assert stack.rows(PendingAction) == []


def test_only_the_owner_can_use_the_picker(stack: Stack) -> None:
    card = open_picker(stack)
    answer = ephemeral(stack, press(stack, card, "picker_email", user=OTHER_ID))
    assert answer == f"This belongs to <@{REP_ID}>; only they can decide it."
    assert ephemeral(stack, press(stack, card, "picker_more", user=OTHER_ID)) == answer
    assert picker_jobs(stack, "calendar_times_chosen") == []
    assert stack.slack.message(card.channel, card.ts).history == []


def test_bad_times_command_gets_help_and_creates_nothing(stack: Stack) -> None:
    reply = stack.command("times demo with nobody")
    assert stack.command_response(reply).startswith(":warning: Add at least one email address")
    assert stack.rows(SchedulingRequest) == []


# --- pure parts ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "tz", "fit"),
    [
        ("2026-12-01T12:00", "America/Los_Angeles", "early"),  # 04:00 for them
        ("2026-12-01T15:59", "America/Los_Angeles", "early"),  # 07:59
        ("2026-12-01T16:00", "America/Los_Angeles", "ok"),  # 08:00
        ("2026-12-01T16:30", BERLIN, "ok"),  # 17:30-18:00 ends on the dot
        ("2026-12-01T16:45", BERLIN, "late"),  # 17:45-18:15
        ("2026-12-01T22:30", BERLIN, "late"),  # 23:30-00:00: long after their 18:00
        # 07:30 UTC is 08:30 in Berlin in winter but 09:30 in summer time.
        ("2026-03-28T06:30", BERLIN, "early"),  # 07:30 CET, Saturday before the change
        ("2026-03-30T06:30", BERLIN, "ok"),  # 08:30 CEST, Monday after it
    ],
)
def test_early_and_late_are_by_their_wall_clock(start: str, tz: str, fit: str) -> None:
    begins = at(start)
    assert fit_for_them(begins, begins + timedelta(minutes=30), tz) == fit


def test_a_time_reads_in_both_zones_with_their_date_when_it_differs() -> None:
    option = PickerOption(index=0, start=at("2026-12-01T22:00"), end=at("2026-12-01T22:30"))
    assert option_line(option, NY, NY) == "Tue Dec 1, 5:00–5:30 PM EST ✓"
    assert option_line(option, NY, "Asia/Tokyo") == (
        "Tue Dec 1, 5:00–5:30 PM EST / Wed Dec 2, 7:00–7:30 AM JST :warning: early for them"
    )
    noon = PickerOption(index=1, start=at("2026-12-01T16:30"), end=at("2026-12-01T17:30"))
    assert time_range(noon.start, noon.end, NY) == "Tue Dec 1, 11:30 AM–12:30 PM EST"
    assert option_line(noon, NY, BERLIN) == (
        "Tue Dec 1, 11:30 AM–12:30 PM EST / 5:30–6:30 PM CET :warning: late for them"
    )


def _view(**changes: Any) -> PickerView:
    start = at("2026-12-01T15:00")
    fields: dict[str, Any] = {
        "job_id": "8d7f0a52-7f4c-4d43-9a57-3c4b1b2a9f10",
        "ref": "ACME-12",
        "meeting_type": "discovery call",
        "duration_minutes": 45,
        "prospect": "Jo",
        "rep_timezone": "America/Argentina/Buenos_Aires",
        "prospect_timezone": "Australia/Lord_Howe",
        "options": tuple(
            PickerOption(
                index=i,
                start=start + timedelta(hours=7 * i),
                end=start + timedelta(hours=7 * i, minutes=45),
            )
            for i in range(12)
        ),
    }
    return PickerView(**{**fields, **changes})


def test_longest_realistic_picker_stays_within_slacks_limits() -> None:
    hostile = "<!channel> " + "Dr. Maximiliane Fürstenberg-Oberhausen " * 40
    for view in (
        _view(prospect=hostile, meeting_type="x" * 300, ref="<@U1>-" + "R" * 40),
        _view(prospect=hostile, page=2),
        _view(prospect=hostile, choice="email", chosen=tuple(range(12)), decided_by=REP_ID),
        _view(prospect=hostile, choice="invite", chosen=(3,), decided_by=REP_ID),
        _view(prospect=hostile, choice="handle", decided_by=REP_ID),
    ):
        text, blocks = picker_card(view)
        assert_within_slack_limits(blocks)
        assert "<!channel>" not in json.dumps(blocks) + text
        assert "<@U1>" not in json.dumps(blocks) + text


def test_racing_clicks_make_one_choice_on_postgres(pg_stack: Stack) -> None:
    card = open_picker(pg_stack)
    (job,) = picker_jobs(pg_stack, "calendar_find_times")
    barrier = threading.Barrier(2)
    outcomes: list[PickOutcome] = []

    def click(choice: str) -> None:
        barrier.wait()
        outcomes.append(
            choose(
                pg_stack.deps,
                job_id=job.id,
                choice=choice,
                page=0,
                ticked=[0],
                slack_user_id=REP_ID,
            )
        )

    threads = [threading.Thread(target=click, args=(c,)) for c in ("email", "invite")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(o.ok for o in outcomes) == [False, True]
    (loser,) = [o for o in outcomes if not o.ok]
    assert loser.message.startswith(f"Already handled: <@{REP_ID}> chose to ")
    (chosen,) = picker_jobs(pg_stack, "calendar_times_chosen")
    pg_stack.drain()
    (action,) = pg_stack.rows(PendingAction)
    assert action.job_id == chosen.id
    assert card.ts == job.outputs["offer_times"]["ts"]
