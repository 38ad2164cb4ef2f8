"""Scripted conversations about holidays and zones, end to end on the whole stack (the DSL is in
tests/support/conversation/): which times a rep's first email offers when "next week" holds a
public holiday on our side or the prospect's, when a teammate keeps other hours in another zone,
and when the org keeps a buffer between meetings.

Rita (the rep) is in New York and keeps the default Mon–Fri 09:00–17:00; Otto, her teammate, is
in Berlin. Holidays are each person's country's, found from their zone (MEETING_BUFFER_MINUTES
and HOLIDAY_COUNTRY are unset unless a test says otherwise).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from redis import Redis

from connectors.clock import ManualClock
from tests.support.conversation.expectations import (
    expect_audit,
    expect_booked,
    expect_card_shows,
    expect_dm,
    expect_email,
    expect_no_audit,
    expect_no_offer_on,
    expect_no_zone_hint,
    expect_nothing_booked,
    expect_offered,
    expect_offers_within,
    expect_prospect_zone,
    expect_prospect_zone_unset,
    expect_status,
    expect_zone_hint,
)
from tests.support.conversation.outside import calendar_busy, clock_reaches, prospect_is_in
from tests.support.conversation.prospect_mail import prospect_replies
from tests.support.conversation.rep_slack import (
    rep_approves,
    rep_fills_in_the_form,
    rep_schedules,
    rep_uses_the_suggested_zone,
    someone_saves_settings,
)
from tests.support.conversation.script import Conversation, conversation, play
from tests.support.conversation.times import local
from tests.support.conversation.world import OTTO, PROSPECT, RITA
from tests.support.stack import Stack

NY = "America/New_York"
LONDON = "Europe/London"
BERLIN = "Europe/Berlin"
DEMO = f"demo with {PROSPECT} next week 45m"
CHRISTMAS = date(2026, 12, 25)
BOXING_DAY_OBSERVED = date(2026, 12, 28)  # the UK's: Boxing Day itself is a Saturday
NEW_YEAR = date(2027, 1, 1)


CONVERSATIONS = [
    conversation(
        "no Christmas Day demo: 'next week' runs Dec 21-25",
        clock_reaches(local("2026-12-14 09:00", NY)),
        rep_schedules(DEMO),
        expect_card_shows(
            "email_initial",
            "5 times free for everyone on our side; none on a public holiday: "
            "Fri Dec 25: Christmas Day (US)",
        ),
        rep_approves("email_initial"),
        expect_email(number=1, offers=True),
        expect_no_offer_on(NY, CHRISTMAS),
        expect_audit("slots_found", "holidays_skipped"),
        expect_offered(
            local("2026-12-21 09:00", NY),
            local("2026-12-21 09:45", NY),
            local("2026-12-22 09:00", NY),
            local("2026-12-23 09:00", NY),
            local("2026-12-24 09:00", NY),
        ),
        expect_status("awaiting_response"),
    ),
    conversation(
        "a London prospect: neither their Boxing Day holiday nor New Year's Day",
        clock_reaches(local("2026-12-21 09:00", NY)),
        prospect_is_in(LONDON),
        rep_schedules(DEMO),
        rep_approves("email_initial"),
        expect_email(number=1, offers=True),
        expect_no_offer_on(LONDON, BOXING_DAY_OBSERVED, NEW_YEAR),
        expect_card_shows(
            "email_initial",
            "none on public holidays: Mon Dec 28: Boxing Day (observed) (GB); "
            "Fri Jan 1: New Year's Day (GB), New Year's Day (US)",
        ),
        expect_no_offer_on(NY, NEW_YEAR),
        expect_offers_within(LONDON, "14:00", "20:00"),
        expect_offered(
            local("2026-12-29 14:00", LONDON),
            local("2026-12-29 14:45", LONDON),
            local("2026-12-30 14:00", LONDON),
            local("2026-12-30 14:45", LONDON),
            local("2026-12-31 14:00", LONDON),
        ),
    ),
    conversation(
        "'in London' on the command: times fit their day and are written in theirs",
        rep_schedules(f"demo with {PROSPECT} next week in London 45m"),
        expect_prospect_zone(LONDON),
        rep_approves("email_initial"),
        # Written in London time with New York's alongside: times_in checks both.
        expect_email(number=1, offers=True),
        expect_offers_within(LONDON, "14:00", "20:00"),
        expect_offered(
            local("2026-12-07 14:00", LONDON),
            local("2026-12-08 14:00", LONDON),
            local("2026-12-09 14:00", LONDON),
            local("2026-12-10 14:00", LONDON),
            local("2026-12-11 14:00", LONDON),
        ),
    ),
    conversation(
        "a London prospect picks Tuesday: the booking card reads in both clocks, not in UTC",
        rep_schedules(f"demo with {PROSPECT} next week in London 45m"),
        expect_prospect_zone(LONDON),
        rep_approves("email_initial"),
        expect_email(number=1, offers=True),
        prospect_replies("Tuesday works for me."),
        expect_card_shows("calendar_book", "Tue Dec 8, 9:00 AM EST (2:00 PM GMT for them)"),
        rep_approves("calendar_book"),
        expect_booked(local("2026-12-08 14:00", LONDON), attendees=[PROSPECT]),
    ),
    conversation(
        "a London prospect's clashing counter: the card says which time, in both clocks",
        calendar_busy(RITA.email, local("2026-12-09 09:00", NY), local("2026-12-09 12:00", NY)),
        rep_schedules(f"demo with {PROSPECT} next week in London 45m"),
        expect_prospect_zone(LONDON),
        rep_approves("email_initial"),
        prospect_replies("Could we do Wednesday Dec 9 at 3pm instead?"),
        expect_card_shows(
            "email_response",
            "Wed Dec 9, 10:00 AM EST (3:00 PM GMT for them): rita@northwind.example is busy",
        ),
        expect_nothing_booked(),
    ),
    conversation(
        "a Berlin teammate's own late hours, not the rep's, decide the times",
        someone_saves_settings(OTTO, zone=BERLIN, work_start="16:00", work_end="19:00"),
        rep_fills_in_the_form(
            guests=[PROSPECT],
            teammates=[OTTO.slack_id],
            first_day=date(2026, 12, 7),
            last_day=date(2026, 12, 11),
        ),
        rep_approves("email_initial"),
        expect_email(number=1, offers=True),
        # 16:00-19:00 in Berlin is 10:00-13:00 in New York, inside Rita's day.
        expect_offers_within(BERLIN, "16:00", "19:00"),
        expect_offers_within(NY, "10:00", "13:00"),
    ),
    conversation(
        "without a buffer, a time may end as another meeting starts",
        calendar_busy(RITA.email, local("2026-12-07 09:45", NY), local("2026-12-07 10:30", NY)),
        rep_schedules(DEMO),
        rep_approves("email_initial"),
        expect_email(number=1, offers=True),
        expect_offered(
            local("2026-12-07 09:00", NY),
            local("2026-12-08 09:00", NY),
            local("2026-12-09 09:00", NY),
            local("2026-12-10 09:00", NY),
            local("2026-12-11 09:00", NY),
        ),
    ),
]

TOKYO = "Asia/Tokyo"
SIGNED_IN_TOKYO = "\n\nJohn Doe\nHead of Ops · Acme KK · Tokyo"

ZONE_HINTS = [
    conversation(
        "a signature in Tokyo: the rep is offered the zone, and one click reads 'my time' there",
        rep_schedules(DEMO),
        rep_approves("email_initial"),
        expect_email(number=1, offers=True),
        prospect_replies("Before we pick a time: is the demo recorded?" + SIGNED_IN_TOKYO),
        expect_dm("reads it as *question*"),
        expect_zone_hint("may be in *Asia/Tokyo*", "city 'Tokyo' in their reply", "Use Asia/Tokyo"),
        # Nothing is read in the suggested zone before the rep says so.
        expect_prospect_zone_unset(),
        rep_uses_the_suggested_zone(),
        expect_prospect_zone(TOKYO),
        expect_audit("reply_received", "prospect_zone_set"),
        expect_no_zone_hint(),
        # 11 pm on Wednesday in Tokyo is Wednesday 9:00 in New York: the third time offered.
        prospect_replies("Wednesday at 11pm my time works for me." + SIGNED_IN_TOKYO),
        expect_no_zone_hint(),
        rep_approves("calendar_book"),
        expect_booked(local("2026-12-09 09:00", NY), attendees=[PROSPECT]),
        rep_approves("email_confirmation"),
        expect_email(number=2, answers="their reply", confirms=local("2026-12-09 09:00", NY)),
        expect_status("confirmed"),
    ),
    conversation(
        "only the Date header's offset: offered as a bare UTC offset, and the rep may leave it",
        rep_schedules(DEMO),
        rep_approves("email_initial"),
        expect_email(number=1, offers=True),
        prospect_replies("Tuesday works for me.", client_zone=TOKYO),
        expect_zone_hint("may be in *UTC+09:00*", "clock of their email client", "daylight"),
        rep_approves("calendar_book"),
        expect_booked(local("2026-12-08 09:00", NY), attendees=[PROSPECT]),
        expect_no_audit("prospect_zone_set"),
        expect_prospect_zone_unset(),
    ),
    conversation(
        "a zone the rep gave in the form is not second-guessed by a signature",
        prospect_is_in(LONDON),
        rep_schedules(DEMO),
        rep_approves("email_initial"),
        expect_email(number=1, offers=True),
        prospect_replies("Tuesday works for me." + SIGNED_IN_TOKYO, client_zone=TOKYO),
        expect_no_zone_hint(),
        expect_prospect_zone(LONDON),
    ),
    conversation(
        "a Date header in the zone we already read them in adds nothing",
        rep_schedules(DEMO),
        rep_approves("email_initial"),
        expect_email(number=1, offers=True),
        prospect_replies("Tuesday works for me.", client_zone=NY),
        expect_dm("reads it as *accept*"),
        expect_no_zone_hint(),
    ),
]

BUFFERED = [
    conversation(
        "with a 15-minute buffer, Monday's first time keeps clear of the 09:45 meeting",
        calendar_busy(RITA.email, local("2026-12-07 09:45", NY), local("2026-12-07 10:30", NY)),
        rep_schedules(DEMO),
        rep_approves("email_initial"),
        expect_email(number=1, offers=True),
        expect_offered(
            local("2026-12-07 10:45", NY),
            local("2026-12-08 09:00", NY),
            local("2026-12-09 09:00", NY),
            local("2026-12-10 09:00", NY),
            local("2026-12-11 09:00", NY),
        ),
    ),
]


@pytest.fixture
def buffered_stack(backend: tuple[str, Redis], clock: ManualClock) -> Iterator[Stack]:
    url, redis = backend
    with Stack.start(
        database_url=url, redis=redis, clock=clock, meeting_buffer_minutes=15
    ) as running:
        yield running


@pytest.mark.parametrize("script", CONVERSATIONS + ZONE_HINTS, ids=str)
def test_conversation(script: Conversation, stack: Stack) -> None:
    play(script, stack)


@pytest.mark.parametrize("script", BUFFERED, ids=str)
def test_conversation_with_a_buffer(script: Conversation, buffered_stack: Stack) -> None:
    play(script, buffered_stack)
