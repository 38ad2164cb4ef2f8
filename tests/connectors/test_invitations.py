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
