"""Nothing is stuck: scripted conversations where a request could be left waiting with nothing
to move it on, and nothing telling the rep.

After every conversation the stuck check (`orchestrator.timers.stuck`) must find no request
under way without a wake-up or an open card, and issue 15's invariant (tests/support/invariants)
must hold as the random conversations judge it. Like tests/test_conversations.py, the first email
goes out on Monday Nov 30, 2026 at 9:00 in New York and offers Mon Dec 7 … Fri Dec 11 at
9:00 AM EST, so "Tuesday" is Dec 8.
"""

from __future__ import annotations

from datetime import date

import pytest

from tests.support.conversation.expectations import (
    expect_actions,
    expect_audit,
    expect_booked,
    expect_decided_card,
    expect_decision_card,
    expect_dm,
    expect_email,
    expect_every_open_request_watched,
    expect_follow_up_at,
    expect_follow_up_in,
    expect_inbox,
    expect_no_audit,
    expect_no_new_dm,
    expect_nothing_booked,
    expect_nothing_stuck,
    expect_offers_within,
    expect_status,
)
from tests.support.conversation.outside import clock_reaches, hours_pass, prospect_is_in
from tests.support.conversation.prospect_mail import (
    prospect_answers_the_invite,
    prospect_replies,
)
from tests.support.conversation.rep_slack import (
    rep_approves,
    rep_decides,
    rep_edits,
    rep_fills_in_the_form,
    rep_rejects,
    rep_runs,
    rep_schedules,
    someone_saves_settings,
)
from tests.support.conversation.script import Conversation, Turn, conversation, play
from tests.support.conversation.times import Offered, local
from tests.support.conversation.world import PROSPECT, RITA
from tests.support.stack import Stack

NY = "America/New_York"
DEMO = f"demo with {PROSPECT} next week 45m"
JANE = "jane@acme.example"


def first_email_sent() -> list[Turn]:
    return [
        rep_schedules(DEMO),
        rep_approves("email_initial"),
        expect_email(number=1, offers=True),
        expect_status("awaiting_response"),
        expect_follow_up_in(24),
    ]


def follow_up_sent(number: int, *, after_hours: int) -> list[Turn]:
    return [
        hours_pass(after_hours),
        rep_approves("email_follow_up"),
        expect_email(number=number, answers="our last email", offers=True, keeps_subject=True),
    ]


def booked_and_confirmed(at: Offered, *, email_number: int = 2) -> list[Turn]:
    return [
        rep_approves("calendar_book"),
        expect_booked(at, attendees=[PROSPECT]),
        rep_approves("email_confirmation"),
        expect_email(number=email_number, answers="their reply", confirms=at),
        expect_status("confirmed"),
    ]


def two_of_them_one_declines() -> list[Turn]:
    """John and Jane are both required; John takes the first time, Jane says no."""
    return [
        rep_fills_in_the_form(
            guests=[f"John Doe <{PROSPECT}>", f"Jane Roe <{JANE}>"],
            first_day=date(2026, 12, 1),
            last_day=date(2026, 12, 4),
        ),
        rep_approves("email_initial"),
        expect_email(number=1, also_to=[JANE], offers=True),
        prospect_replies("The first option works for me."),
        expect_dm("reads it as *accept*", "still waiting on Jane Roe"),
        prospect_replies(
            "Sorry, I can't make any of these, I'll pass.",
            sender=JANE,
            name="Jane Roe",
            mailbox=JANE,
        ),
    ]


def follow_ups_stopped() -> list[Turn]:
    """Four follow-ups go unanswered; at the fifth Convene stops chasing and pauses."""
    return [
        *first_email_sent(),
        *follow_up_sent(2, after_hours=24),  # Tue Dec 1
        *follow_up_sent(3, after_hours=48),  # Thu Dec 3
        # 72 h on is Sunday Dec 6: the follow-up waits for Monday 9:00.
        clock_reaches(local("2026-12-07 09:00", NY)),
        rep_approves("email_follow_up"),
        expect_email(number=4, answers="our last email", offers=True, keeps_subject=True),
        *follow_up_sent(5, after_hours=72),  # Thu Dec 10
        # 72 h on is Sunday Dec 13 again: the check waits for Monday, and stops.
        clock_reaches(local("2026-12-14 10:00", NY)),
        expect_status("paused"),
        expect_audit("follow_ups_stopped"),
        expect_follow_up_in(None),
    ]


def question_answered(question: str, *, number: int) -> list[Turn]:
    return [
        prospect_replies(question),
        # An answer needs the rep's own words before it can go.
        rep_edits(
            "email_response",
            subject="Re: Time for a quick demo?",
            body=f"Hi John,\n\nYes, it does.\n\nRita ({number})",
        ),
        rep_approves("email_response"),
        expect_email(number=number, answers="their reply"),
    ]


CONVERSATIONS = [
    conversation(
        "no time fits a Tokyo prospect's day: the rep is told why, and looks again after "
        "widening her hours",
        prospect_is_in("Asia/Tokyo"),
        rep_schedules(DEMO),
        # Rita's 9-17 in New York is 23:00-07:00 in Tokyo: the search finds nothing.
        expect_actions(),
        hours_pass(1),
        expect_decision_card(
            "never got its first email",
            "no time between Dec 07 and Dec 14 suits everyone on our side",
            "(Asia/Tokyo)",
            "Offer fresh times",
        ),
        expect_audit("request_created", "stall_escalated"),
        expect_inbox(0),
        # She keeps a late slot for Asia: 17:00-20:00 in New York is 07:00-10:00 in Tokyo.
        someone_saves_settings(RITA, zone=NY, work_start="17:00", work_end="20:00"),
        rep_decides("offer_times"),
        rep_approves("email_initial"),
        expect_email(number=1, offers=True),
        expect_offers_within("Asia/Tokyo", "07:00", "10:00"),
        expect_status("awaiting_response"),
        expect_follow_up_in(24),
    ),
    conversation(
        "no time fits, and the rep takes it over: nothing is asked again",
        prospect_is_in("Asia/Tokyo"),
        rep_schedules(DEMO),
        hours_pass(1),
        expect_decision_card("never got its first email"),
        rep_decides("offer_times"),
        # The same search fails the same way: the rep hears it once more, an hour on.
        hours_pass(1),
        expect_decision_card("never got its first email"),
        rep_decides("handle_myself"),
        expect_status("paused"),
        hours_pass(48),
        expect_audit("stall_escalated", "decision_made", "stall_escalated", "decision_made"),
        expect_inbox(0),
    ),
    conversation(
        "a long back-and-forth is not silence: only emails since their last reply count",
        *first_email_sent(),
        *follow_up_sent(2, after_hours=24),  # Tue Dec 1
        *question_answered("Before we pick: does the demo cover the reporting module?", number=3),
        *question_answered("Thanks. Will it also cover the API?", number=4),
        *question_answered("And can my colleague from finance join?", number=5),
        # Five emails of ours, every one answered but the last: the stop rule's "5 emails
        # have gone unanswered" would be untrue, so the usual nudge is due instead.
        expect_follow_up_in(24),
        hours_pass(24),
        expect_no_audit("follow_ups_stopped"),
        rep_approves("email_follow_up"),
        expect_email(number=6, answers="our last email", keeps_subject=True),
        expect_status("awaiting_response"),
    ),
    conversation(
        "an answer draft nobody approved expires: the rep is asked at once what comes next",
        *first_email_sent(),
        prospect_replies("Before we pick a time: does the demo cover the reporting module?"),
        expect_actions("email_initial executed", "email_response pending"),
        # The answer waits three days for the rep's words; the follow-up was skipped (they
        # replied), so once it expires nothing else would move the request.
        hours_pass(72),
        expect_actions("email_initial executed", "email_response expired"),
        expect_decision_card("Nothing is moving this request", "Offer fresh times"),
        expect_audit("reply_received", "action_expired", "stall_escalated"),
        rep_decides("offer_times"),
        rep_approves("email_response"),
        expect_email(number=2, answers="their reply", offers=True),
    ),
    conversation(
        "resume after Convene stopped chasing: one more follow-up is scheduled, and it comes",
        *follow_ups_stopped(),
        rep_runs("resume", answer="Resumed ACME-1"),
        expect_status("awaiting_response"),
        # An hour on (as for any resume with a follow-up overdue), within their working day.
        expect_follow_up_in(1),
        hours_pass(1),
        rep_approves("email_follow_up"),
        expect_email(number=6, answers="our last email", offers=True, keeps_subject=True),
        expect_audit("follow_ups_stopped", "request_resumed", "follow_up_sent"),
        # Still unanswered: the stop rule holds again at the next one, and the rep is told.
        hours_pass(72),
        expect_status("paused"),
        expect_follow_up_in(None),
    ),
    conversation(
        "a rejected first draft, then resume: nothing was sent, so a fresh first email is drafted",
        rep_schedules(DEMO),
        rep_rejects("email_initial", reason="Too pushy; mention the pilot."),
        expect_status("paused"),
        rep_runs("resume", answer="a fresh first email is being drafted"),
        expect_actions("email_initial rejected", "email_initial pending"),
        rep_approves("email_initial"),
        expect_email(number=1, offers=True),
        expect_status("awaiting_response"),
        expect_audit("action_reject", "request_paused", "request_resumed", "email_sent"),
    ),
    conversation(
        "pause, a reply arrives, resume: the reply is acted on",
        *first_email_sent(),
        rep_runs("pause", answer="Paused ACME-1"),
        prospect_replies("Tuesday works for me."),
        # Nothing acts on it while paused, but the rep is asked, not just told.
        expect_decision_card("They replied on a paused request", "Tuesday works", "Reopen"),
        expect_actions("email_initial executed"),
        expect_status("paused"),
        rep_runs("resume", answer="Their reply from while it was paused is being acted on"),
        expect_dm("reads it as *accept*", "Tue Dec 8, 9:00 AM EST"),
        expect_actions("email_initial executed", "calendar_book pending"),
        *booked_and_confirmed(Offered(2)),
        expect_audit("request_paused", "reply_received", "request_resumed", "meeting_booked"),
    ),
    conversation(
        "a reply after the follow-up draft expired",
        *first_email_sent(),
        hours_pass(24),
        expect_actions("email_initial executed", "email_follow_up pending"),
        hours_pass(25),
        expect_actions("email_initial executed", "email_follow_up expired"),
        expect_status("paused"),
        prospect_replies("Tuesday works for me."),
        expect_decision_card("They replied on a paused request", "Tuesday works", "Reopen"),
        expect_actions("email_initial executed", "email_follow_up expired"),
        rep_decides("reopen"),
        expect_status("negotiating"),
        expect_actions(
            "email_initial executed", "email_follow_up expired", "calendar_book pending"
        ),
        *booked_and_confirmed(Offered(2)),
        expect_audit("request_paused", "reply_received", "decision_made", "request_resumed"),
    ),
    conversation(
        "a declined invite with a comment reaches the rep as a card; fresh times go out",
        *first_email_sent(),
        prospect_replies("Tuesday works for me."),
        *booked_and_confirmed(Offered(2)),
        prospect_answers_the_invite("DECLINED", comment="Something came up, sorry."),
        expect_decision_card(
            "They declined the meeting invite",
            f"{PROSPECT} declined the invite on Tue Dec 8, 9:00 AM EST",
            "Something came up, sorry.",
            "Offer fresh times",
            "Keep it open",
        ),
        expect_status("confirmed"),
        expect_audit("meeting_booked", "invite_response"),
        rep_decides("offer_times"),
        rep_approves("email_response"),
        expect_email(number=3, offers=True),
        expect_status("negotiating"),
    ),
    conversation(
        "a tentative answer without a comment reaches the rep; the meeting is kept",
        *first_email_sent(),
        prospect_replies("Tuesday works for me."),
        *booked_and_confirmed(Offered(2)),
        prospect_answers_the_invite("TENTATIVE"),
        expect_decision_card(
            "They might not come to the meeting",
            f"{PROSPECT} answered *maybe* to the invite on Tue Dec 8, 9:00 AM EST",
            "Keep it open",
        ),
        rep_decides("keep_open"),
        expect_status("confirmed"),
        expect_booked(Offered(2), attendees=[PROSPECT]),
        expect_inbox(2),
    ),
    conversation(
        "an accepted invite needs nothing from the rep",
        *first_email_sent(),
        prospect_replies("Tuesday works for me."),
        expect_dm("reads it as *accept*"),
        *booked_and_confirmed(Offered(2)),
        prospect_answers_the_invite("ACCEPTED"),
        expect_no_new_dm(),
        expect_audit("meeting_booked", "invite_response"),
    ),
    conversation(
        "keep it open after an unclear reply: the card shows the next follow-up, which comes",
        *first_email_sent(),
        prospect_replies("asdf qwerty zxcv"),
        expect_decision_card("not sure about this one", "Keep it open"),
        hours_pass(2),  # the rep reads it at 11:00
        rep_decides("keep_open"),
        # 24 h on from the click, as after the first email.
        expect_follow_up_in(24),
        expect_decided_card("Next follow-up: Tue Dec 1, 11:00 AM EST"),
        expect_audit("reply_received", "decision_made"),
        hours_pass(24),
        rep_approves("email_follow_up"),
        expect_email(number=2, answers="our last email", offers=True, keeps_subject=True),
        expect_audit("decision_made", "follow_up_sent"),
        expect_no_audit("follow_up_skipped"),
    ),
    conversation(
        "a follow-up due on Saturday waits for Monday 9:00 in the prospect's zone",
        prospect_is_in("Europe/London"),
        *first_email_sent(),
        *follow_up_sent(2, after_hours=24),  # Tue Dec 1
        *follow_up_sent(3, after_hours=48),  # Thu Dec 3
        # 72 h on is Sunday Dec 6 in London: Monday 9:00 GMT instead.
        expect_follow_up_at(local("2026-12-07 09:00", "Europe/London")),
        hours_pass(72),
        expect_actions("email_initial executed", *["email_follow_up executed"] * 2),
        clock_reaches(local("2026-12-07 09:00", "Europe/London")),
        rep_approves("email_follow_up"),
        expect_email(number=4, answers="our last email", offers=True, keeps_subject=True),
    ),
    conversation(
        "a follow-up never goes out on Christmas Day, nor on Boxing Day in London",
        prospect_is_in("Europe/London"),
        clock_reaches(local("2026-12-22 09:00", NY)),
        rep_schedules(f"demo with {PROSPECT} 45m"),
        rep_approves("email_initial"),
        expect_email(number=1, offers=True),
        *follow_up_sent(2, after_hours=24),  # Wed Dec 23
        # 48 h on is Christmas Day; Saturday, Sunday and Boxing Day (observed Monday) follow.
        expect_follow_up_at(local("2026-12-29 09:00", "Europe/London")),
        hours_pass(48),
        expect_actions("email_initial executed", "email_follow_up executed"),
        clock_reaches(local("2026-12-29 09:00", "Europe/London")),
        rep_approves("email_follow_up"),
        expect_email(number=3, answers="our last email", offers=True),
    ),
    conversation(
        "resuming on a Saturday: the overdue follow-up waits for Monday",
        *first_email_sent(),
        rep_runs("pause", answer="Paused ACME-1"),
        clock_reaches(local("2026-12-05 10:00", NY)),
        rep_runs("resume", answer="Resumed ACME-1"),
        expect_follow_up_at(local("2026-12-07 09:00", NY)),
        hours_pass(30),
        expect_actions("email_initial executed"),
    ),
    conversation(
        "one of two prospects declines: the rep books with the one who accepted",
        *two_of_them_one_declines(),
        expect_decision_card(
            "Jane Roe declined the meeting",
            "Book with those who accepted",
            "Go on without who declined",
            "Cancel the request",
        ),
        expect_nothing_booked(),
        rep_decides("book_accepted"),
        rep_approves("calendar_book"),
        # Jane is not invited; John is, at the time he took.
        expect_booked(Offered(1), attendees=[PROSPECT]),
        rep_approves("email_confirmation"),
        # In John's thread: he is the one coming.
        expect_email(number=2, confirms=Offered(1), keeps_subject=True),
        expect_inbox(1, JANE),
        expect_status("confirmed"),
        expect_audit("reply_received", "decision_made", "attendees_dropped", "meeting_booked"),
    ),
    conversation(
        "one of two prospects declines before the other answers: the rep goes on without her",
        rep_fills_in_the_form(
            guests=[f"John Doe <{PROSPECT}>", f"Jane Roe <{JANE}>"],
            first_day=date(2026, 12, 1),
            last_day=date(2026, 12, 4),
        ),
        rep_approves("email_initial"),
        expect_email(number=1, also_to=[JANE], offers=True),
        prospect_replies(
            "Sorry, I can't make any of these, I'll pass.",
            sender=JANE,
            name="Jane Roe",
            mailbox=JANE,
        ),
        expect_decision_card("Jane Roe declined the meeting", "Go on without who declined"),
        rep_decides("drop_decliner"),
        expect_audit("decision_made", "attendees_dropped"),
        expect_nothing_booked(),
        prospect_replies("The first option works for me."),
        rep_approves("calendar_book"),
        expect_booked(Offered(1), attendees=[PROSPECT]),
    ),
    conversation(
        "keep it open after a decline: the rep looked past it, so the follow-up still comes",
        *first_email_sent(),
        prospect_replies("Thanks, but we're not interested right now."),
        expect_decision_card("recommends closing", "Keep it open"),
        rep_decides("keep_open"),
        expect_follow_up_in(24),
        expect_decided_card("Next follow-up: Tue Dec 1, 9:00 AM EST"),
        hours_pass(24),
        expect_actions("email_initial executed", "email_follow_up pending"),
        rep_approves("email_follow_up"),
        expect_email(number=2, answers="our last email", offers=True, keeps_subject=True),
        expect_no_audit("follow_ups_stopped", "follow_up_skipped"),
    ),
]


@pytest.mark.parametrize("script", CONVERSATIONS, ids=str)
def test_conversation(script: Conversation, stack: Stack) -> None:
    play(script, stack)
    afterwards = [expect_nothing_stuck(), expect_every_open_request_watched()]
    play(conversation(f"{script.name}, afterwards", *afterwards), stack)
