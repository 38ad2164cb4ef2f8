"""Invitation times are written in UTC: a TZID without its VTIMEZONE is misread by strict
calendar clients, and a fixed-offset zone has no VTIMEZONE a client would know."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import icalendar
import pytest

from connectors.mail.invitations import Invite, build_ics

STAMP = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "zone", [timezone(timedelta(hours=-5), "UTC-05:00"), ZoneInfo("America/New_York")]
)
def test_times_are_written_in_utc_and_read_back_as_the_same_instant(zone: object) -> None:
    start = datetime(2026, 12, 8, 10, 0, tzinfo=zone)  # type: ignore[arg-type]
    invite = Invite(
        uid="evt-1",
        sequence=0,
        start=start,
        end=start + timedelta(minutes=30),
        summary="Demo",
        organizer_email="rita@northwind.example",
    )

    ics = build_ics(invite, method="REQUEST", stamp=STAMP)

    assert b"TZID" not in ics
    assert b"DTSTART:20261208T150000Z" in ics
    (event,) = icalendar.Calendar.from_ical(ics).walk("VEVENT")
    assert event.decoded("DTSTART") == start
    assert event.decoded("DTEND") == start + timedelta(minutes=30)


def test_a_join_link_is_the_events_url_and_conference() -> None:
    start = datetime(2026, 12, 8, 15, 0, tzinfo=UTC)
    link = "https://us02web.zoom.us/j/81000000001"
    invite = Invite(
        uid="evt-2",
        sequence=0,
        start=start,
        end=start + timedelta(minutes=30),
        summary="Demo",
        organizer_email="rita@northwind.example",
        location=link,
        url=link,
    )

    (event,) = icalendar.Calendar.from_ical(build_ics(invite, method="REQUEST", stamp=STAMP)).walk(
        "VEVENT"
    )

    assert str(event["URL"]) == link and str(event["LOCATION"]) == link
    conference = event["CONFERENCE"]
    assert str(conference) == link
    assert conference.params["FEATURE"] == "AUDIO,VIDEO" and conference.params["VALUE"] == "URI"
    # Without a link (a phone call) there is neither.
    bare = build_ics(
        Invite(**{**invite.__dict__, "url": "", "location": "+1 555 0100"}),
        method="REQUEST",
        stamp=STAMP,
    )
    assert b"URL" not in bare and b"CONFERENCE" not in bare
