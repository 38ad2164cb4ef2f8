"""Scripted conversations about one truth per request: what the prospect was offered is what
the sent email says, a newer reply replaces the cards drafted for an older one, and a meeting
is only ever one event on the calendar, moved rather than booked twice.

The first email goes out on Monday Nov 30, 2026 at 9:00 in New York and offers Mon Dec 7 …
Fri Dec 11 at 9:00 AM EST (see tests/test_conversations.py).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.support.conversation.expectations import (
    expect_actions,
    expect_audit,
    expect_booked,
    expect_card_shows,
    expect_dm,
    expect_email,
    expect_event_state,
    expect_inbox,
    expect_kept_card_now_shows,
    expect_on_offer,
    expect_status,
)
from tests.support.conversation.outside import clock_reaches, hours_pass, prospect_is_in
from tests.support.conversation.prospect_mail import prospect_replies, replies_arrive_together
from tests.support.conversation.rep_slack import (
    rep_approves,
    rep_approves_the_kept_card,
    rep_cancels,
    rep_clicks_approve,
    rep_edit_is_refused,
    rep_edits,
    rep_keeps_the_card,
    rep_schedules,
    undo_window_passes,
)
from tests.support.conversation.script import Conversation, Turn, conversation, play
from tests.support.conversation.times import Offered, local
from tests.support.conversation.world import PROSPECT, World
from tests.support.stack import Stack

NY = "America/New_York"
DEMO = f"demo with {PROSPECT} next week 45m"
REPLACED = "replaced by a newer reply"

EDITED_OFFER = (
    "Hi John,\n\nThanks for your time today. Would one of these suit you for the demo?\n"
    "- Wed, Dec 9 at 11:00 AM EST\n"
    "- Thu, Dec 10 at 3:00 PM EST\n\n"
    "Rita"
)

EDITED_FOR_LONDON = (
    "Hi John,\n\nWould one of these suit you?\n"
    "- Wed, Dec 9 at 4:00 PM GMT (11:00 AM EST)\n"
    "- Thu, Dec 10 at 3:00 PM GMT (10:00 AM EST)\n\n"
    "Rita"
)


def follow_up_sent(number: int, *, after_hours: int) -> list[Turn]:
    return [
        hours_pass(after_hours),
        rep_approves("email_follow_up"),
        expect_email(number=number, answers="our last email", offers=True, keeps_subject=True),
    ]


def expect_event_state_unset() -> Turn:
    def run(w: World) -> None:
        assert w.request().event_next_action_subtype is None, w.request().event_next_action

    return Turn("expect no event state stored before anything was sent", run)


def first_email_sent() -> list[Turn]:
    return [
        rep_schedules(DEMO),
        rep_approves("email_initial"),
        expect_email(number=1, offers=True),
        expect_status("awaiting_response"),
    ]


CONVERSATIONS = [
    conversation(
        "the rep moves a London time but not its twin in brackets: the edit is refused, then fixed",
        prospect_is_in("Europe/London"),
        rep_schedules(DEMO),
        rep_edit_is_refused(
            "email_initial",
            body=EDITED_FOR_LONDON.replace("4:00 PM GMT", "5:00 PM GMT"),
            saying="“Wed, Dec 9 at 5:00 PM GMT” and “(11:00 AM EST)” are different moments",
        ),
        rep_edits("email_initial", subject="Demo for the Acme team", body=EDITED_FOR_LONDON),
        rep_approves("email_initial"),
        expect_email(number=1, body=EDITED_FOR_LONDON, offers=True),
        expect_on_offer(
            local("2026-12-09 16:00", "Europe/London"), local("2026-12-10 15:00", "Europe/London")
        ),
    ),
    conversation(
        "a London prospect: times the rep writes in both zones are each offered once",
        prospect_is_in("Europe/London"),
        rep_schedules(DEMO),
        rep_edits("email_initial", subject="Demo for the Acme team", body=EDITED_FOR_LONDON),
        expect_card_shows(
            "email_initial",
            "As edited, the email offers (your time): Wed Dec 9, 11:00 AM EST; "
            "Thu Dec 10, 10:00 AM EST",
        ),
        rep_approves("email_initial"),
        expect_email(number=1, body=EDITED_FOR_LONDON, offers=True),
        expect_on_offer(
            local("2026-12-09 16:00", "Europe/London"), local("2026-12-10 15:00", "Europe/London")
        ),
        prospect_replies("The second one works for me."),
        rep_approves("calendar_book"),
        expect_booked(local("2026-12-10 15:00", "Europe/London"), attendees=[PROSPECT]),
    ),
    conversation(
        "a new time asked while the confirmation waits: the card is replaced, the event moves",
        *first_email_sent(),
        prospect_replies("Monday works."),
        rep_approves("calendar_book"),
        expect_booked(Offered(1), attendees=[PROSPECT]),
        rep_keeps_the_card("email_confirmation"),
        prospect_replies("Sorry, something came up. Could we do Wednesday Dec 9 at 2pm instead?"),
        expect_kept_card_now_shows("email_confirmation", "Replaced by a newer reply"),
        rep_approves_the_kept_card("email_confirmation", refused=REPLACED),
        expect_actions(
            "email_initial executed",
            "calendar_book executed",
            "email_confirmation superseded",
            "calendar_update pending",
        ),
        rep_approves("calendar_update"),
        expect_booked(local("2026-12-09 14:00", NY), attendees=[PROSPECT]),
        rep_approves("email_confirmation"),
        # The only email after the first confirms the new time; the old one never went.
        expect_email(number=2, answers="their reply", confirms=local("2026-12-09 14:00", NY)),
        expect_status("confirmed"),
        expect_audit(
            "meeting_booked",
            "action_superseded",
            "reply_received",
            "meeting_moved",
            "confirmation_sent",
        ),
    ),
    conversation(
        "the event state is stored as it changes: reaching out, all confirmed, scheduled",
        rep_schedules(DEMO),
        expect_event_state_unset(),
        rep_approves("email_initial"),
        expect_event_state("reaching_out", "coordination_in_progress"),
        prospect_replies("Tuesday works for me."),
        expect_event_state("all_confirmed", "coordination_in_progress"),
        rep_approves("calendar_book"),
        expect_booked(Offered(2), attendees=[PROSPECT]),
        expect_event_state("scheduled", "complete"),
        rep_approves("email_confirmation"),
        expect_event_state("scheduled", "complete"),
        expect_audit(
            "email_sent",
            "event_state_changed",
            "reply_received",
            "event_state_changed",
            "meeting_booked",
        ),
    ),
    conversation(
        "silence after every follow-up: a stored recommend-cancel, then the rep cancels",
        *first_email_sent(),
        *follow_up_sent(2, after_hours=24),
        *follow_up_sent(3, after_hours=48),
        # 72 h after Thursday's nudge is Sunday: the third waits for Monday 9:00, their time.
        hours_pass(72),
        *follow_up_sent(4, after_hours=24),
        *follow_up_sent(5, after_hours=72),
        expect_event_state("reaching_out", "coordination_in_progress"),
        clock_reaches(datetime(2026, 12, 14, 14, 0, tzinfo=UTC)),
        expect_status("paused"),
        expect_event_state("recommend_cancel", "waiting_for_decision"),
        expect_dm("stopped following up", "5 emails have gone unanswered", "recommends closing"),
        expect_audit("follow_ups_stopped", "event_state_changed"),
        expect_inbox(5),
        rep_cancels(),
        expect_event_state("cancelled", "complete"),
        expect_audit("follow_ups_stopped", "event_state_changed", "request_cancelled"),
    ),
    conversation(
        "the rep edits the times before approving: the prospect's pick books an edited time",
        rep_schedules(DEMO),
        rep_edits("email_initial", subject="Demo for the Acme team", body=EDITED_OFFER),
        expect_card_shows(
            "email_initial",
            "As edited, the email offers (your time): Wed Dec 9, 11:00 AM EST; "
            "Thu Dec 10, 3:00 PM EST",
        ),
        rep_approves("email_initial"),
        # The email offers exactly what the rep wrote, and the draft records just those.
        expect_email(number=1, subject="Demo for the Acme team", body=EDITED_OFFER, offers=True),
        expect_on_offer(local("2026-12-09 11:00", NY), local("2026-12-10 15:00", NY)),
        prospect_replies("The second one works for me."),
        expect_dm("reads it as *accept*", "Thu Dec 10, 3:00 PM EST"),
        rep_approves("calendar_book"),
        expect_booked(local("2026-12-10 15:00", NY), attendees=[PROSPECT]),
        rep_approves("email_confirmation"),
        expect_email(number=2, answers="their reply", confirms=local("2026-12-10 15:00", NY)),
        expect_audit("draft_created", "action_edit", "email_sent", "reply_received"),
    ),
    conversation(
        "a second reply while the first booking waits in its undo window moves that booking",
        *first_email_sent(),
        prospect_replies("Tuesday works for me."),
        rep_clicks_approve("calendar_book"),
        prospect_replies("Sorry, scratch that: could we do Thursday Dec 10 at 2pm instead?"),
        undo_window_passes(),
        expect_booked(Offered(2), attendees=[PROSPECT]),
        # Drafted before the first booking executed, it still may not add a second event.
        rep_approves("calendar_book"),
        expect_booked(local("2026-12-10 14:00", NY), attendees=[PROSPECT]),
        expect_actions(
            "email_initial executed",
            "calendar_book executed",
            "calendar_book executed",
            "email_confirmation pending",
        ),
        rep_approves("email_confirmation"),
        expect_email(number=2, answers="their reply", confirms=local("2026-12-10 14:00", NY)),
        expect_status("confirmed"),
        expect_audit(
            "reply_received",
            "answer_replaced",
            "reply_received",
            "meeting_booked",
            "confirmation_skipped",
            "meeting_moved",
            "confirmation_sent",
        ),
    ),
    conversation(
        "two quick replies: the first reply's booking card is replaced and cannot be approved",
        *first_email_sent(),
        prospect_replies("Tuesday works for me."),
        rep_keeps_the_card("calendar_book"),
        prospect_replies("Actually, could we do Thursday Dec 10 at 2pm instead?"),
        expect_actions(
            "email_initial executed", "calendar_book superseded", "calendar_book pending"
        ),
        expect_kept_card_now_shows("calendar_book", "Replaced by a newer reply"),
        rep_approves_the_kept_card("calendar_book", refused=REPLACED),
        rep_approves("calendar_book"),
        expect_booked(local("2026-12-10 14:00", NY), attendees=[PROSPECT]),
        expect_audit("reply_received", "reply_received", "action_superseded", "meeting_booked"),
    ),
    conversation(
        "two replies in one poll: only the correction is answered, nothing asks about the first",
        *first_email_sent(),
        replies_arrive_together(
            "Monday at 10am works for me.",
            "Sorry, scratch that: could we do Thursday Dec 10 at 2pm instead?",
        ),
        # The first names a time we never offered; asking "which did you mean?" now would
        # contradict the correction that already came.
        expect_actions("email_initial executed", "calendar_book pending"),
        rep_approves("calendar_book"),
        expect_booked(local("2026-12-10 14:00", NY), attendees=[PROSPECT]),
        rep_approves("email_confirmation"),
        expect_email(number=2, answers="their reply", confirms=local("2026-12-10 14:00", NY)),
        expect_inbox(2),
        expect_audit("reply_received", "reply_received", "meeting_booked"),
    ),
]


@pytest.mark.parametrize("script", CONVERSATIONS, ids=str)
def test_conversation(script: Conversation, stack: Stack) -> None:
    play(script, stack)
