"""The pre-meeting brief: 90 minutes before a booked meeting each of our attendees who is a rep
gets one DM (who is coming, how it came about, what they said and asked, where to join), at the
right moment across the 2027 US and EU DST changes, held through quiet hours or skipped when
they last to the start, once per meeting start (a move gets one for the new time, a
cancellation none), and never twice across a crash after the post. On both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update
from sqlmodel import col

from bot.local_slack import Message, block_errors
from bot.pre_meeting_blocks import pre_meeting_card
from db.models import (
    EmailMessage,
    Rep,
    RequestStatus,
    SchedulingAction,
    SchedulingAttendee,
    SchedulingRequest,
    SlackNotification,
)
from orchestrator.engine.crashpoints import SimulatedCrash, armed
from orchestrator.outbox.calendar import booked_join_url
from skills.compose_pre_meeting import (
    Person,
    ThreadEmail,
    company_from_email,
    compose_pre_meeting,
)
from tests.support.stack import REP_ID, Stack
from tests.test_meeting_lifecycle import book_meeting

NY = "America/New_York"
BERLIN = "Europe/Berlin"
PROSPECT = "jo.doe@eu.acme-robotics.co.uk"
REPLY = (
    "Tuesday works. Can we cover the SSO setup? Also, who else is joining from your side?\n\n"
    "Best,\nJo Doe\nVP Sales | Acme Robotics\n\n"
    "On Mon, Mar 8, 2027 at 9:14 AM Rita <rita@northwind.example> wrote:\n"
    "> Would Tuesday work? What about pricing?\n"
)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[arg-type, misc]


def move_to(stack: Stack, moment: datetime) -> None:
    stack.clock.advance(moment - stack.clock.now())
    stack.tick()


def add_rep(
    stack: Stack, slack_id: str, email: str, tz: str, quiet: tuple[str, str] | None = None
) -> Rep:
    rep = Rep(
        org_id="T0LOCAL",
        slack_user_id=slack_id,
        email=email,
        name=email.split("@")[0].title(),
        timezone=tz,
        quiet_hours_start=quiet[0] if quiet else None,
        quiet_hours_end=quiet[1] if quiet else None,
        created_at=stack.clock.now(),
    )
    with stack.deps.uow() as uow:
        uow.session.add(rep)
        uow.commit()
    return rep


def book(
    stack: Stack,
    owner: Rep,
    start: datetime,
    *,
    teammates: tuple[Rep, ...] = (),
    ref: str = "ACME-1",
) -> SchedulingRequest:
    """A confirmed meeting as the booking flow leaves it: its attendees and its thread."""
    now = stack.clock.now()
    request = SchedulingRequest(
        org_id=owner.org_id,
        rep_id=owner.id,
        ref=ref,
        title="Acme demo",
        status=RequestStatus.confirmed,
        location="Room 4, 1 Main St",
        meeting_start=start,
        meeting_end=start + timedelta(minutes=30),
        created_at=now,
        updated_at=now,
    )
    with stack.deps.uow() as uow:
        uow.session.add(request)
        uow.session.flush()
        ours = [owner.email, *(t.email.upper() for t in teammates), "helper@northwind.example"]
        for email in ours:
            uow.session.add(
                SchedulingAttendee(
                    org_id=owner.org_id,
                    request_id=request.id,
                    side="internal",
                    email=email,
                    created_at=now,
                )
            )
        uow.session.add(
            SchedulingAttendee(
                org_id=owner.org_id,
                request_id=request.id,
                side="external",
                email=PROSPECT,
                name="Jo Doe",
                created_at=now,
            )
        )
        for n, (direction, body) in enumerate(
            [("outbound", "Would Tuesday work? What about pricing?"), ("inbound", REPLY)]
        ):
            uow.session.add(
                EmailMessage(
                    org_id=owner.org_id,
                    request_id=request.id,
                    direction=direction,
                    message_id=f"<{ref}-{n}@x>",
                    sender=owner.email if direction == "outbound" else PROSPECT,
                    body_text=body,
                    status="sent",
                    created_at=now + timedelta(hours=n),
                    sent_at=now + timedelta(hours=n) if direction == "outbound" else None,
                )
            )
        uow.commit()
    return request


def briefs(stack: Stack) -> list[Message]:
    return [m for m in stack.slack.messages if m.text.startswith("Coming up")]


def briefs_to(stack: Stack, rep: Rep) -> list[Message]:
    return [m for m in briefs(stack) if m.channel == "D" + rep.slack_user_id]


def reschedule(stack: Stack, request: SchedulingRequest, **values: object) -> None:
    with stack.deps.uow() as uow:
        uow.session.execute(
            update(SchedulingRequest)
            .where(col(SchedulingRequest.id) == request.id)
            .values(**values)
        )
        uow.commit()


# --- composition --------------------------------------------------------------------------------


def test_company_is_read_from_the_domain() -> None:
    assert company_from_email(PROSPECT) == "Acme Robotics"
    assert company_from_email("a@globex.com") == "Globex"
    assert company_from_email("a@mail.initech.io") == "Initech"


def test_the_brief_says_who_how_what_was_asked_and_where() -> None:
    start = utc(2027, 3, 15, 14)
    brief = compose_pre_meeting(
        ref="ACME-1",
        title="Acme demo",
        start=start,
        end=start + timedelta(minutes=30),
        timezone=NY,
        prospects=[Person(name="Jo Doe", email=PROSPECT)],
        requested_at=utc(2027, 3, 8, 14),
        requested_by="Rita",
        emails=[
            ThreadEmail(direction="outbound", at=utc(2027, 3, 8, 15), body="Tuesday?"),
            ThreadEmail(direction="inbound", at=utc(2027, 3, 8, 18), body="Is SSO in scope?"),
            ThreadEmail(direction="outbound", at=utc(2027, 3, 9, 15), body="Yes, it is."),
            ThreadEmail(direction="inbound", at=utc(2027, 3, 9, 18), body=REPLY),
            # After the start: not part of how the meeting came about.
            ThreadEmail(direction="inbound", at=utc(2027, 3, 15, 15), body="Thanks?"),
        ],
        join_url="https://meet.example/abc",
    )
    assert brief.coming == [Person(name="Jo Doe", email=PROSPECT, company="Acme Robotics")]
    assert (brief.emails_sent, brief.emails_received, len(brief.email_dates)) == (2, 2, 4)
    # The signature and quoted history are not their words.
    assert brief.last_reply.startswith("Tuesday works.")
    assert "VP Sales" not in brief.last_reply and "pricing" not in brief.last_reply
    assert brief.questions == [
        "Is SSO in scope?",
        "Can we cover the SSO setup?",
        "Also, who else is joining from your side?",
    ]
    # Asked before our last email, so answered there; the last reply's are still open.
    assert brief.open_questions == brief.questions[1:]
    text, blocks = pre_meeting_card(brief)
    assert block_errors(blocks) == []
    shown = str(blocks)
    assert "Mon Mar 15, 10:00 AM EDT" in text and "<https://meet.example/abc|Join" in shown
    assert "Acme Robotics" in shown and "2 sent, 2 received" in shown


def test_prospect_text_cannot_ping_or_link() -> None:
    start = utc(2027, 3, 15, 14)
    brief = compose_pre_meeting(
        ref="ACME-1",
        title="Demo",
        start=start,
        end=None,
        timezone=NY,
        prospects=[Person(name="<!channel>", email=PROSPECT)],
        requested_at=utc(2027, 3, 8, 14),
        requested_by="Rita",
        emails=[
            ThreadEmail(
                direction="inbound", at=utc(2027, 3, 9), body="<!here> see <http://x.example|y>?"
            )
        ],
    )
    shown = str(pre_meeting_card(brief)[1])
    assert "<!channel>" not in shown and "<!here>" not in shown and "<http" not in shown


# --- on the clock ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "ny_local", "berlin_local"),
    [
        # The Monday after the US change (Mar 14): New York is on EDT, Berlin still on CET.
        (utc(2027, 3, 15, 14), "10:00 AM EDT", "3:00 PM CET"),
        # The Monday after the EU change (Mar 28): Berlin on CEST.
        (utc(2027, 3, 29, 8), "4:00 AM EDT", "10:00 AM CEST"),
    ],
)
def test_each_rep_attendee_gets_one_brief_90_minutes_before_across_dst(
    stack: Stack, start: datetime, ny_local: str, berlin_local: str
) -> None:
    rita = add_rep(stack, "U0RITA", "rita@northwind.example", NY)
    ben = add_rep(stack, "U0BEN", "ben@northwind.example", BERLIN)
    add_rep(stack, "U0BYSTANDER", "bystander@northwind.example", NY)  # not on the invite
    book(stack, rita, start, teammates=(ben,))
    move_to(stack, start - timedelta(minutes=91))
    assert briefs(stack) == []
    move_to(stack, start - timedelta(minutes=90))
    (to_rita,) = briefs_to(stack, rita)
    (to_ben,) = briefs_to(stack, ben)
    assert len(briefs(stack)) == 2  # the bystander and the non-rep colleague get nothing
    assert ny_local in to_rita.text and berlin_local in to_ben.text
    shown = str(to_rita.blocks)
    assert "Jo Doe" in shown and "Acme Robotics" in shown and "Room 4, 1 Main St" in shown
    assert "Can we cover the SSO setup?" in shown
    for minutes in (60, 30, 1):
        move_to(stack, start - timedelta(minutes=minutes))
    assert len(briefs(stack)) == 2


def test_quiet_hours_hold_the_brief_until_they_end_or_skip_it(stack: Stack) -> None:
    start = utc(2027, 3, 15, 14)  # 10:00 EDT; the brief is due at 08:30 EDT
    rita = add_rep(stack, "U0RITA", "rita@northwind.example", NY, quiet=("22:00", "09:00"))
    ben = add_rep(stack, "U0BEN", "ben@northwind.example", NY, quiet=("20:00", "10:30"))
    request = book(stack, rita, start, teammates=(ben,))
    move_to(stack, start - timedelta(minutes=90))
    assert briefs(stack) == []
    move_to(stack, utc(2027, 3, 15, 12, 59))
    assert briefs(stack) == []
    move_to(stack, utc(2027, 3, 15, 13))  # 09:00 EDT: Rita's quiet hours are over
    assert len(briefs_to(stack, rita)) == 1
    # Ben's last until after the start: skipped, and the skip is on the request's record.
    move_to(stack, start + timedelta(hours=1))
    assert briefs_to(stack, ben) == [] and len(briefs(stack)) == 1
    (skip,) = stack.rows(
        SchedulingAction,
        col(SchedulingAction.request_id) == request.id,
        col(SchedulingAction.action_type) == "pre_meeting_brief_skipped",
    )
    assert skip.details["rep_id"] == str(ben.id)


def test_a_moved_meeting_gets_one_brief_at_its_new_time(stack: Stack) -> None:
    start = utc(2027, 3, 15, 14)
    rita = add_rep(stack, "U0RITA", "rita@northwind.example", NY)
    request = book(stack, rita, start)
    move_to(stack, start - timedelta(hours=3))
    new_start = start + timedelta(days=1)
    reschedule(stack, request, meeting_start=new_start, meeting_end=new_start + timedelta(hours=1))
    move_to(stack, start - timedelta(minutes=90))
    move_to(stack, start)
    assert briefs(stack) == []
    move_to(stack, new_start - timedelta(minutes=90))
    (brief,) = briefs(stack)
    assert "Tue Mar 16, 10:00 AM EDT" in brief.text
    move_to(stack, new_start)
    assert len(briefs(stack)) == 1


def test_a_brief_sent_then_a_move_gets_a_brief_for_the_new_time_only(stack: Stack) -> None:
    start = utc(2027, 3, 15, 14)
    rita = add_rep(stack, "U0RITA", "rita@northwind.example", NY)
    request = book(stack, rita, start)
    move_to(stack, start - timedelta(minutes=80))
    assert len(briefs(stack)) == 1
    new_start = start + timedelta(hours=2)
    reschedule(stack, request, meeting_start=new_start, meeting_end=new_start + timedelta(hours=1))
    move_to(stack, start)
    assert len(briefs(stack)) == 1
    move_to(stack, new_start - timedelta(minutes=90))
    assert len(briefs(stack)) == 2 and "12:00 PM EDT" in briefs(stack)[-1].text


def test_a_cancelled_meeting_gets_no_brief(stack: Stack) -> None:
    start = utc(2027, 3, 15, 14)
    rita = add_rep(stack, "U0RITA", "rita@northwind.example", NY)
    request = book(stack, rita, start)
    kept = book(stack, rita, start + timedelta(hours=1), ref="ACME-2")
    move_to(stack, start - timedelta(hours=3))  # timed while it was still booked
    reschedule(stack, request, status=RequestStatus.cancelled)
    move_to(stack, start - timedelta(minutes=90))
    move_to(stack, start - timedelta(minutes=30))
    move_to(stack, start + timedelta(hours=1))
    (brief,) = briefs(stack)  # the other meeting's
    assert kept.ref in brief.text and request.ref not in brief.text


def test_a_crash_after_the_post_does_not_dm_twice(stack: Stack) -> None:
    start = utc(2027, 3, 15, 14)
    rita = add_rep(stack, "U0RITA", "rita@northwind.example", NY)
    book(stack, rita, start)
    stack.clock.advance(start - timedelta(minutes=90) - stack.clock.now())
    with armed("pre_meeting.posted"), pytest.raises(SimulatedCrash):
        stack.tick()
    assert len(briefs(stack)) == 1
    for minutes in (89, 80, 60, 1):
        move_to(stack, start - timedelta(minutes=minutes))
    assert len(briefs(stack)) == 1
    (row,) = stack.rows(SlackNotification, col(SlackNotification.kind) == "pre_meeting_brief")
    assert row.rep_id == rita.id


def test_a_failed_post_is_tried_again(stack: Stack) -> None:
    start = utc(2027, 3, 15, 14)
    rita = add_rep(stack, "U0RITA", "rita@northwind.example", NY)
    book(stack, rita, start)
    stack.slack.rate_limited_calls = 1_000
    move_to(stack, start - timedelta(minutes=90))
    assert briefs(stack) == []
    assert stack.rows(SlackNotification, col(SlackNotification.kind) == "pre_meeting_brief") == []
    stack.slack.rate_limited_calls = 0
    move_to(stack, start - timedelta(minutes=84))
    assert len(briefs(stack)) == 1


def test_zero_minutes_turns_the_brief_off(stack: Stack) -> None:
    start = utc(2027, 3, 15, 14)
    stack.deps.settings.pre_meeting_brief_minutes = 0
    rita = add_rep(stack, "U0RITA", "rita@northwind.example", NY)
    book(stack, rita, start)
    move_to(stack, start - timedelta(minutes=90))
    move_to(stack, start)
    assert briefs(stack) == []


def test_a_meeting_booked_through_the_outbox_is_briefed_with_its_join_link(stack: Stack) -> None:
    request = book_meeting(stack)  # signed /schedule, their reply, both approvals
    start = request.meeting_start
    assert start is not None
    with stack.deps.uow() as uow:
        join = booked_join_url(
            uow.session, request_id=request.id, event_id=request.calendar_event_id
        )
    move_to(stack, start - timedelta(minutes=91))
    assert briefs(stack) == []
    move_to(stack, start - timedelta(minutes=90))
    (brief,) = briefs(stack)
    assert brief.channel == "D" + REP_ID
    shown = str(brief.blocks)
    assert "Tuesday works for me" in shown and "Acme" in shown
    # The first email and the confirmation went out; their one reply came in.
    assert "2 sent, 1 received" in shown and "(john@acme.example)" not in shown
    assert join and f"<{join}|Join the meeting>" in shown
    move_to(stack, start)
    assert len(briefs(stack)) == 1
