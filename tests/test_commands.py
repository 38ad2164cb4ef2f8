"""`/schedule` parsing: what reps type, and clear errors for what they get wrong."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.commands import CommandError, parse_schedule

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)  # a Wednesday, 10:00 in New York
TZ = "America/New_York"


def test_full_command() -> None:
    cmd = parse_schedule(
        'Demo with john@acme.com, mary@acme.com next week 45m "they asked about SSO"',
        now=NOW,
        tz=TZ,
    )
    assert cmd.meeting_type == "demo"
    assert cmd.emails == ("john@acme.com", "mary@acme.com")
    assert cmd.duration_minutes == 45
    assert cmd.context == "they asked about SSO"
    assert cmd.window_start is not None and cmd.window_end is not None
    assert cmd.window_start.isoformat() == "2026-11-30T00:00:00-05:00"
    assert cmd.window_end.isoformat() == "2026-12-07T00:00:00-05:00"


def test_defaults_and_slack_mailto_links() -> None:
    cmd = parse_schedule("discovery call with <mailto:Ann@Corp.io|Ann@Corp.io>", now=NOW, tz=TZ)
    assert cmd.meeting_type == "discovery call"
    assert cmd.emails == ("ann@corp.io",)
    assert cmd.duration_minutes == 30
    assert cmd.window_start is None


@pytest.mark.parametrize(
    ("text", "minutes"), [("1h", 60), ("90 min", 90), ("2 hours", 120), ("15m", 15)]
)
def test_durations(text: str, minutes: int) -> None:
    assert parse_schedule(f"demo with a@b.co {text}", now=NOW, tz=TZ).duration_minutes == minutes


def test_windows() -> None:
    tomorrow = parse_schedule("demo with a@b.co tomorrow", now=NOW, tz=TZ)
    assert tomorrow.window_start is not None
    assert tomorrow.window_start.isoformat() == "2026-11-26T00:00:00-05:00"
    this_week = parse_schedule("demo with a@b.co this week", now=NOW, tz=TZ)
    assert this_week.window_start == NOW  # never a window that starts in the past
    assert this_week.window_end is not None
    assert this_week.window_end.isoformat() == "2026-11-30T00:00:00-05:00"
    dates = parse_schedule("demo with a@b.co 2026-12-01..2026-12-03", now=NOW, tz=TZ)
    assert dates.window_end is not None
    assert dates.window_end.isoformat() == "2026-12-04T00:00:00-05:00"
    ten = parse_schedule("demo with a@b.co next 10 days", now=NOW, tz=TZ)
    assert ten.window_end is not None and ten.window_end.isoformat() == "2026-12-06T00:00:00-05:00"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("demo", "Tell me what kind of meeting and with whom"),
        ("demo with", "Tell me what kind of meeting and with whom"),
        ("demo with next week", "Add at least one email address"),
        ("demo with john@", "`john@` doesn't look like an email address."),
        ("demo with a@b.co 500m", "Meetings can be 10 to 240 minutes long."),
        ("demo with a@b.co whenever", "I didn't understand `whenever`."),
        ("demo with a@b.co 2026-02-30", "`2026-02-30` is not a real date."),
        ("demo with a@b.co 2026-12-05..2026-12-01", "The date range ends before it starts."),
        ("demo with a@b.co 2025-01-01", "That date range is in the past."),
        (f"{'x' * 61} with a@b.co", "Keep the meeting type under 60 characters"),
        (f'demo with a@b.co "{"y" * 501}"', "Keep the quoted context under 500 characters."),
    ],
)
def test_errors_say_what_to_fix(text: str, message: str) -> None:
    with pytest.raises(CommandError) as error:
        parse_schedule(text, now=NOW, tz=TZ)
    assert str(error.value).startswith(message)
