"""The card an inline `/schedule demo with …` answers with: what was understood, Start · Edit.

Pure. The buttons carry the command itself, with the moment and zone it was read in, so a click
minutes later reads exactly what the rep confirmed ("next week" does not drift), and the slash
command's trigger id, so a double-clicked Start joins the request the first click made.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.blocks import Block, button, context, section
from orchestrator.engine.event_types import EventType
from orchestrator.meeting_kinds import MeetingKind
from orchestrator.mrkdwn import escape_mrkdwn as escape
from orchestrator.views import START_EVENTS, ScheduleCommand

BUTTON_VALUE_LIMIT = 2000  # Slack refuses a button whose value is longer
START, EDIT = "start_request", "edit_request"


@dataclass(frozen=True)
class PendingStart:
    """A parsed-but-not-started `/schedule`: everything Start or Edit needs later."""

    text: str
    read_at: datetime
    tz: str
    trigger_id: str
    event_type: str = EventType.scheduling_requested
    # The meeting type's length and place when the card was made, so Start books what the card
    # showed even if an admin edits the type in between.
    minutes: int | None = None
    platform: str | None = None
    location: str = ""

    def kinds(self, meeting_type: str) -> dict[str, MeetingKind] | None:
        if self.minutes is None or self.platform is None:
            return None
        kind = MeetingKind(
            name=meeting_type,
            duration_minutes=self.minutes,
            platform=self.platform,
            location=self.location,
        )
        return {meeting_type: kind}

    def encode(self) -> str:
        return json.dumps(
            asdict(self) | {"read_at": self.read_at.isoformat()}, separators=(",", ":")
        )

    @classmethod
    def decode(cls, value: str) -> PendingStart | None:
        """The button's value back, or None when it isn't one of ours."""
        try:
            data = json.loads(value)
            pending = cls(**data | {"read_at": datetime.fromisoformat(data["read_at"])})
            ZoneInfo(pending.tz)
        except (ValueError, TypeError, KeyError):
            return None
        return pending if pending.event_type in START_EVENTS else None

    def fits(self) -> bool:
        return len(self.encode()) <= BUTTON_VALUE_LIMIT


def _when(command: ScheduleCommand, tz: str) -> str:
    if command.window_start is None or command.window_end is None:
        return "the next 7 days"
    zone = ZoneInfo(tz)
    first = command.window_start.astimezone(zone).date()
    last = (command.window_end - timedelta(microseconds=1)).astimezone(zone).date()
    if first == last:
        return _day(first)
    return f"{_day(first)} – {_day(last)}"


def _day(day: date) -> str:
    return f"{day:%a} {day.day} {day:%b}"


def confirm_card(command: ScheduleCommand, pending: PendingStart) -> tuple[str, list[Block]]:
    """What the rep is about to start, and the two ways on from here."""
    who = ", ".join(command.emails)
    summary = f"Start a *{escape(command.meeting_type)}* with {escape(who)}?"
    facts = [
        f"*When:* {_when(command, pending.tz)}",
        f"*Length:* {command.duration_minutes} min",
    ]
    if command.prospect_timezone:
        facts.append(f"*Their time zone:* {escape(command.prospect_timezone)}")
    if command.context:
        facts.append(f"*Context for the email:* {escape(command.context)}")
    first_step = (
        "I'll DM you times to pick from"
        if pending.event_type == EventType.calendar_find_times
        else "I'll DM you a draft email"
    )
    value = pending.encode()
    actions: dict[str, Any] = {
        "type": "actions",
        "block_id": "confirm_request",
        "elements": [
            button("Start", START, value, "primary"),
            button("Edit", EDIT, value),
        ],
    }
    blocks = [
        section(summary),
        section("\n".join(facts)),
        actions,
        context(f"{first_step}; nothing is sent until you approve it."),
    ]
    return f"Start a {command.meeting_type} with {who}?", blocks
