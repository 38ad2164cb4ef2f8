"""Email drafts from structured data. Times, dates and names are inserted by code, never written
by a model, and shown in the recipient's zone (with ours alongside when it differs)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Draft:
    subject: str
    body: str


@dataclass(frozen=True)
class InitialEmailInput:
    prospect_first_name: str
    rep_name: str
    meeting_label: str  # "demo", "discovery call"
    duration_minutes: int
    slots: Sequence[datetime]
    prospect_tz: str
    rep_tz: str
    context: str = ""
    signature: str = ""


def format_slot(start: datetime, *, tz: str, also_tz: str | None = None) -> str:
    """'Tue, Dec 1 at 10:00 AM EST' (plus '(4:00 PM CET)' when a second zone is asked for)."""
    local = start.astimezone(ZoneInfo(tz))
    text = f"{local:%a, %b} {local.day} at {_clock(local)} {local.tzname()}"
    if also_tz and also_tz != tz:
        other = start.astimezone(ZoneInfo(also_tz))
        if other.tzname() != local.tzname():
            text += f" ({_clock(other)} {other.tzname()})"
    return text


def _clock(moment: datetime) -> str:
    hour = moment.hour % 12 or 12
    return f"{hour}:{moment.minute:02d} {'AM' if moment.hour < 12 else 'PM'}"


def initial_email(data: InitialEmailInput) -> Draft:
    """The first scheduling email: short, specific times, no scheduling link."""
    if not data.slots:
        raise ValueError("an initial email needs at least one proposed time")
    greeting = f"Hi {data.prospect_first_name}," if data.prospect_first_name else "Hi there,"
    reason = f" {data.context.strip()}" if data.context.strip() else ""
    options = "\n".join(
        f"  {i}. {format_slot(s, tz=data.prospect_tz, also_tz=data.rep_tz)}"
        for i, s in enumerate(data.slots, start=1)
    )
    lines = [
        greeting,
        "",
        f"I'd love to set up a {data.duration_minutes}-minute {data.meeting_label}.{reason}",
        "",
        "Would any of these work for you?",
        options,
        "",
        "If none fit, just tell me what works better and I'll make it happen.",
        "",
        "Best,",
        data.signature.strip() or data.rep_name,
    ]
    subject = f"{data.meeting_label.capitalize()} — finding a time"
    return Draft(subject=subject, body="\n".join(lines))
