"""Scripted conversations: replies read in their context, and fresh times that respect what the
prospect said (issue 15, points 2 and 3).

The same DSL and opening as tests/test_conversations.py: the first email goes out on Monday
Nov 30, 2026 at 9:00 in New York and offers Mon Dec 7 … Fri Dec 11 at 9:00 AM EST. Each script
asserts the booked instant, every time in every email, the cards and DMs and the audit rows.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from tests.support.conversation.expectations import (
    expect_actions,
    expect_audit,
    expect_booked,
    expect_copied_offered,
    expect_decision_card,
    expect_dm,
    expect_email,
    expect_follow_up_at,
    expect_follow_up_in,
    expect_inbox,
    expect_latest_email_lacks,
    expect_no_audit,
    expect_no_new_dm,
    expect_nobody_copied_offered,
    expect_nothing_booked,
    expect_offers_between,
    expect_offers_within,
    expect_recipient_card,
    expect_status,
)
from tests.support.conversation.outside import calendar_busy, clock_reaches, prospect_is_in
from tests.support.conversation.prospect_mail import auto_reply_arrives, prospect_replies
from tests.support.conversation.rep_slack import (
    rep_adds_the_copied,
    rep_approves,
    rep_decides,
    rep_edits,
    rep_fills_in_the_form,
    rep_schedules,
)
from tests.support.conversation.script import Conversation, Turn, conversation, play
from tests.support.conversation.times import Offered, local
from tests.support.conversation.world import PROSPECT, RITA, World
from tests.support.stack import Stack

NY = "America/New_York"
DEMO = f"demo with {PROSPECT} next week 45m"
TOLD_NOTHING_SENT = "Nothing has been sent to them."
# What a counter-proposal says only when they named a time that doesn't work for us.
NO_APOLOGY = ("Sorry", "Unfortunately", "suggesting a time", "can't make that one")


def expect_offered_again_only(*, weekday: int) -> Turn:
    """The latest email lists exactly the earlier email's times on `weekday` (0 = Monday) in
    New York, at least two of them: every time their words fit, none they didn't."""

    def run(w: World) -> None:
        assert len(w.offers) >= 2, "fewer than two emails offered times"
        fitting = tuple(t for t in w.offers[-2] if t.astimezone(ZoneInfo(NY)).weekday() == weekday)
        assert len(fitting) >= 2, f"the first email offered {w.offers[-2]}"
        assert w.offers[-1] == fitting, f"asked about {w.offers[-1]}, expected {fitting}"

    return Turn(f"expect the email to ask about every earlier time on weekday {weekday}", run)


def expect_no_dm_says(phrase: str) -> Turn:
    def run(w: World) -> None:
        said = [d for d in w.dms() if phrase in d]
        assert not said, f"a DM says {phrase!r}: {said}"

    return Turn(f"expect no DM saying {phrase!r}", run)


def booked_and_confirmed(at: Offered | datetime, *, email_number: int = 2) -> list[Turn]:
    """Approve the booking, then the confirmation in their thread; the request is done."""
    return [
        rep_approves("calendar_book"),
        expect_booked(at, attendees=[PROSPECT]),
        rep_approves("email_confirmation"),
        expect_email(number=email_number, answers="their reply", confirms=at),
        expect_status("confirmed"),
        expect_follow_up_in(None),
    ]


def first_email_sent() -> list[Turn]:
    return [
        rep_schedules(DEMO),
        rep_approves("email_initial"),
        expect_email(number=1, offers=True),
        expect_status("awaiting_response"),
    ]


JANE = "jane@acme.example"

CONVERSATIONS = [
    conversation(
        "accepts with a colleague in Cc: the rep adds her, and the waiting booking invites her",
        *first_email_sent(),
        prospect_replies("Tuesday works. Copying Jane, who should join too.", cc=[JANE]),
        expect_dm("reads it as *accept*", "Tue Dec 8, 9:00 AM EST"),
        expect_copied_offered("They copied jane@acme.example", "Add jane@acme.example"),
        expect_actions("email_initial executed", "calendar_book pending"),
        expect_no_audit("attendee_added"),
        rep_adds_the_copied(JANE),
        expect_audit("reply_received", "attendee_added"),
        expect_nobody_copied_offered(),
        rep_approves("calendar_book"),
        expect_booked(Offered(2), attendees=[PROSPECT], optional=[JANE]),
        expect_status("confirmed"),
    ),
    conversation(
        "a colleague copied after the booking: an updated invite, only once the rep approves",
        *first_email_sent(),
        prospect_replies("Tuesday works for me."),
        *booked_and_confirmed(Offered(2)),
        prospect_replies("Looking forward to it. I've copied Jane from finance.", cc=[JANE]),
        expect_copied_offered("Add jane@acme.example"),
        rep_adds_the_copied(JANE),
        expect_actions(
            "email_initial executed",
            "calendar_book executed",
            "email_confirmation executed",
            "calendar_update pending",
        ),
        expect_booked(Offered(2), attendees=[PROSPECT]),
        rep_approves("calendar_update"),
        expect_booked(Offered(2), attendees=[PROSPECT], optional=[JANE]),
        expect_audit("meeting_booked", "attendee_added"),
    ),
    conversation(
        "a hand-over that also copies the person it names: asked once, on the hand-over card",
        *first_email_sent(),
        prospect_replies(
            "I'm not the right person for this, please reach out to Sarah Lee "
            "(sarah@acme.example) who handles our scheduling.",
            cc=["sarah@acme.example"],
        ),
        expect_recipient_card("They point to someone else: sarah@acme.example", warned=False),
        expect_nobody_copied_offered(),
    ),
    conversation(
        "our own colleagues and the people already on it are never offered from a Cc",
        *first_email_sent(),
        prospect_replies(
            "Tuesday works for me.", cc=[f"boss@{RITA.email.split('@')[1]}", PROSPECT]
        ),
        expect_dm("reads it as *accept*"),
        expect_nobody_copied_offered(),
    ),
    # --- a reply that accepts and does something else too ------------------------------------
    conversation(
        "accepts and asks: booked, and the question gets its own answer",
        *first_email_sent(),
        prospect_replies("Tuesday works. Will the demo cover the API?"),
        expect_dm("reads it as *accept*", "Tue Dec 8, 9:00 AM EST", "cover the API?"),
        expect_actions("email_initial executed", "calendar_book pending", "email_response pending"),
        rep_edits(
            "email_response",
            subject="Re: the API",
            body="Hi John,\n\nYes: the demo covers the REST API end to end.\n\nRita",
        ),
        rep_approves("email_response"),
        expect_email(number=2, answers="their reply", contains=["covers the REST API"]),
        rep_approves("calendar_book"),
        expect_booked(Offered(2), attendees=[PROSPECT]),
        rep_approves("email_confirmation"),
        expect_email(number=3, answers="their reply", confirms=Offered(2)),
        expect_status("confirmed"),
        expect_follow_up_in(None),
        expect_actions(
            "email_initial executed",
            "calendar_book executed",
            "email_response executed",
            "email_confirmation executed",
        ),
        expect_audit("reply_received", "meeting_booked", "answer_sent", "confirmation_sent"),
        expect_inbox(3),
    ),
    conversation(
        "accepts and copies a colleague to join: booked, and the rep is told about them",
        *first_email_sent(),
        prospect_replies(
            "Tuesday works. I've cc'd my colleague Jane Roe (jane@acme.example) who should "
            "join too."
        ),
        expect_dm(
            "reads it as *accept*",
            "Tue Dec 8, 9:00 AM EST",
            "They point to someone else: jane@acme.example",
            "Nobody was added",
            TOLD_NOTHING_SENT,
        ),
        expect_actions("email_initial executed", "calendar_book pending"),
        # Nobody named in a reply is invited or written to from its text alone.
        *booked_and_confirmed(Offered(2)),
        expect_inbox(0, "jane@acme.example"),
        expect_no_audit("attendee_added"),
        expect_audit("reply_received", "meeting_booked", "confirmation_sent"),
    ),
    conversation(
        "accepts and mentions a holiday: booked, and the rep hears about the time away",
        *first_email_sent(),
        prospect_replies("Tuesday works. Heads up: I'm on vacation from Dec 14 to Dec 28."),
        # A person's reply, not an autoresponder's: it is read, and the acceptance stands.
        expect_no_audit("auto_reply"),
        expect_dm(
            "reads it as *accept*",
            "Tue Dec 8, 9:00 AM EST",
            "They also mention time away",
            TOLD_NOTHING_SENT,
        ),
        expect_actions("email_initial executed", "calendar_book pending"),
        *booked_and_confirmed(Offered(2)),
        expect_audit("reply_received", "meeting_booked", "confirmation_sent"),
    ),
    # --- which of the times they meant ------------------------------------------------------------
    conversation(
        "'Thursday works' when two Thursdays were offered asks about every Thursday, only",
        # Tuesday and Wednesday are full, so the week's times fall on two Thursdays.
        calendar_busy(RITA.email, local("2026-12-08 00:00", NY), local("2026-12-10 00:00", NY)),
        rep_fills_in_the_form(
            guests=[f"John Doe <{PROSPECT}>"],
            first_day=date(2026, 12, 3),
            last_day=date(2026, 12, 10),
        ),
        rep_approves("email_initial"),
        expect_email(number=1, offers=True),
        prospect_replies("Thursday works for me."),
        expect_dm("reads it as *accept*", TOLD_NOTHING_SENT),
        expect_no_dm_says("still waiting on"),  # they answered; we ask them which time
        expect_actions("email_initial executed", "email_response pending"),
        expect_nothing_booked(),
        rep_approves("email_response"),
        expect_email(number=2, answers="their reply", offers=True, contains=["which of these"]),
        expect_offered_again_only(weekday=3),
        expect_audit("reply_received", "clarification_sent"),
        prospect_replies("The second one works for me."),
        *booked_and_confirmed(Offered(2), email_number=3),
    ),
    conversation(
        "'next week works' fits every offered time: they are asked which, as before",
        *first_email_sent(),
        prospect_replies("Next week works for me."),
        expect_dm("reads it as *accept*", TOLD_NOTHING_SENT),
        expect_actions("email_initial executed", "email_response pending"),
        rep_approves("email_response"),
        expect_email(number=2, answers="their reply", offers=True, contains=["which of these"]),
        expect_audit("reply_received", "clarification_sent"),
        expect_nothing_booked(),
    ),
    # --- whose clock ------------------------------------------------------------------------------
    conversation(
        "'3pm my time' from a prospect known to be in London is booked at 3pm London time",
        prospect_is_in("Europe/London"),
        *first_email_sent(),
        prospect_replies("None of those work. Could we do Wednesday Dec 9 at 3pm my time?"),
        expect_dm("reads it as *counter propose*", TOLD_NOTHING_SENT),
        *booked_and_confirmed(local("2026-12-09 15:00", "Europe/London")),
        expect_audit("reply_received", "meeting_booked", "confirmation_sent"),
    ),
    conversation(
        "'3pm my time' from a prospect whose zone we don't know goes to the rep, unbooked",
        *first_email_sent(),
        prospect_replies("None of those work. Could we do Wednesday Dec 9 at 3pm my time?"),
        expect_decision_card("3pm my time", "not sure about this one", TOLD_NOTHING_SENT),
        expect_actions("email_initial executed"),
        expect_nothing_booked(),
        expect_audit("reply_received", "event_state_changed"),
        expect_no_audit("meeting_booked"),
        expect_inbox(1),
    ),
    # --- fresh times keep to what they said --------------------------------------------------
    conversation(
        "'free next Tuesday afternoon': fresh times only that afternoon, and no apology",
        *first_email_sent(),
        prospect_replies("None of those work. I'm free next Tuesday afternoon though."),
        expect_dm("reads it as *counter propose*", TOLD_NOTHING_SENT),
        expect_actions("email_initial executed", "email_response pending"),
        rep_approves("email_response"),
        expect_email(number=2, answers="their reply", keeps_subject=True, offers=True),
        expect_offers_between(local("2026-12-08 12:00", NY), local("2026-12-08 17:00", NY)),
        expect_latest_email_lacks(*NO_APOLOGY),
        expect_email(number=2, contains=["Thanks for letting me know what suits you"]),
        expect_audit("reply_received", "counter_proposal_sent"),
        expect_nothing_booked(),
        prospect_replies("The second one is perfect."),
        *booked_and_confirmed(Offered(2), email_number=3),
    ),
    conversation(
        "'mornings are bad, an afternoon instead?': only afternoons are offered",
        *first_email_sent(),
        prospect_replies("Mornings are bad for me, could you do an afternoon instead?"),
        rep_approves("email_response"),
        expect_email(number=2, answers="their reply", offers=True),
        expect_offers_within(NY, "12:00", "17:00"),
        expect_latest_email_lacks(*NO_APOLOGY),
        expect_audit("reply_received", "counter_proposal_sent"),
        prospect_replies("The first one works."),
        *booked_and_confirmed(Offered(1), email_number=3),
    ),
    conversation(
        "'Next week is packed. Anything after the 15th?' gets times from the 16th on",
        *first_email_sent(),
        prospect_replies("Next week is packed. Anything after the 15th?"),
        expect_actions("email_initial executed", "email_response pending"),
        rep_approves("email_response"),
        expect_email(number=2, answers="their reply", offers=True),
        expect_offers_between(local("2026-12-16 00:00", NY), local("2026-12-24 00:00", NY)),
        expect_latest_email_lacks(*NO_APOLOGY),
        expect_audit("reply_received", "counter_proposal_sent"),
        prospect_replies("The first one works."),
        *booked_and_confirmed(Offered(1), email_number=3),
    ),
    conversation(
        "'can we push to next week?' after booking: later times only, and the meeting moves",
        *first_email_sent(),
        prospect_replies("Monday works."),
        *booked_and_confirmed(Offered(1)),
        prospect_replies("Something came up, can we push to next week?"),
        expect_decision_card("wants to meet later"),
        rep_decides("offer_times"),
        rep_approves("email_response"),
        expect_email(number=3, answers="their reply", offers=True),
        # Later than the booked Mon Dec 7 9:00–9:45, and within next week.
        expect_offers_between(local("2026-12-07 09:45", NY), local("2026-12-12 00:00", NY)),
        expect_latest_email_lacks(*NO_APOLOGY),
        prospect_replies("The first one works."),
        expect_actions(
            "email_initial executed",
            "calendar_book executed",
            "email_confirmation executed",
            "email_response executed",
            "calendar_update pending",
        ),
        rep_approves("calendar_update"),
        expect_booked(Offered(1), attendees=[PROSPECT]),
        rep_approves("email_confirmation"),
        expect_email(number=4, answers="their reply", confirms=Offered(1)),
        expect_status("confirmed"),
        expect_audit("meeting_booked", "decision_made", "counter_proposal_sent", "meeting_moved"),
    ),
    # --- out of office --------------------------------------------------------------------------
    conversation(
        "out of office through Friday: the follow-up waits for Monday morning, not Saturday",
        *first_email_sent(),
        auto_reply_arrives("I am out of the office through Friday with limited access to email."),
        # 9:00 on Monday Dec 7 in New York (the request's zone).
        expect_follow_up_at(datetime(2026, 12, 7, 14, 0, tzinfo=UTC)),
        expect_status("awaiting_response"),
        expect_audit("email_sent", "auto_reply"),
        expect_no_audit("reply_received"),
        expect_no_new_dm(),
        clock_reaches(datetime(2026, 12, 5, 14, 0, tzinfo=UTC)),
        expect_actions("email_initial executed"),  # nothing on their Saturday
        clock_reaches(datetime(2026, 12, 7, 14, 0, tzinfo=UTC)),
        rep_approves("email_follow_up"),
        expect_email(number=2, answers="our last email", offers=True, keeps_subject=True),
    ),
    conversation(
        "an auto-reply in Spanish: back on Friday, the follow-up waits for it",
        prospect_is_in("Europe/Madrid"),
        *first_email_sent(),
        auto_reply_arrives(
            "Estoy de vacaciones hasta el viernes. Para asuntos urgentes escriba a "
            "ventas@acme.example."
        ),
        # 9:00 on Friday Dec 4 in Madrid.
        expect_follow_up_at(datetime(2026, 12, 4, 8, 0, tzinfo=UTC)),
        expect_audit("email_sent", "auto_reply"),
        expect_no_new_dm(),
        clock_reaches(datetime(2026, 12, 4, 8, 0, tzinfo=UTC)),
        rep_approves("email_follow_up"),
        expect_email(number=2, answers="our last email", offers=True, keeps_subject=True),
    ),
]


@pytest.mark.parametrize("script", CONVERSATIONS, ids=str)
def test_conversation(script: Conversation, stack: Stack) -> None:
    play(script, stack)
