"""What a meeting type is: its fields, the built-in ones, and what makes one valid.

Pure, so the form, the inline command and the `/schedule templates` modal can share it; the
rows live in `scheduling_templates` (`orchestrator.commands.meeting_types`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from skills.draft_wording import check_templates


@dataclass(frozen=True)
class MeetingKind:
    """A meeting type as the form, the inline command and `/schedule templates` show it: a
    built-in one, or the team's own when an admin saved one."""

    name: str
    duration_minutes: int = 30
    platform: str = "google_meet"
    location: str = ""  # the phone number or address, for phone and in-person meetings
    follow_up_hours: tuple[int, ...] = (24, 48, 72)
    reminder_rule: str = "morning_of"
    # Wording overrides, "<template id>.subject|body" -> text (skills.email_templates).
    wording: tuple[tuple[str, str], ...] = ()
    saved: bool = False  # the team saved it (else a built-in default)


# Built-in types and their usual length in minutes, for a team that saved none.
BUILT_IN: Mapping[str, int] = {
    "demo": 30,
    "discovery call": 30,
    "intro call": 30,
    "follow-up": 30,
    "technical deep dive": 60,
}
PLATFORMS: Mapping[str, str] = {
    "google_meet": "Google Meet",
    "teams": "Microsoft Teams",
    "zoom": "Zoom link",
    "phone": "Phone",
    "in_person": "In person",
}
# Where the meeting happens is not a link for these: the template must say where.
NEEDS_LOCATION: Mapping[str, str] = {
    "phone": "the number to call (and who calls whom)",
    "in_person": "the address",
}
REMINDER_RULES: Mapping[str, str] = {
    "morning_of": "Morning of the meeting",
    "hours_before:1": "1 hour before",
    "hours_before:2": "2 hours before",
    "hours_before:24": "A day before",
    "none": "No reminder",
}
MIN_MINUTES, MAX_MINUTES = 10, 240
MAX_NAME = 60  # the inline command's limit on a meeting type
MAX_FOLLOW_UPS = 6
MAX_FOLLOW_UP_HOURS = 24 * 30
MAX_LOCATION = 300


def built_in_kinds() -> dict[str, MeetingKind]:
    return {name: MeetingKind(name=name, duration_minutes=m) for name, m in BUILT_IN.items()}


def kind_named(kinds: Mapping[str, MeetingKind], name: str) -> MeetingKind:
    """The type called `name`; one the team never defined gets seed 000's defaults."""
    return kinds.get(name.strip().lower()) or MeetingKind(name=name.strip().lower())


def kind_problems(kind: MeetingKind) -> dict[str, str]:
    """What is wrong with a type an admin typed, by field; empty when it can be saved."""
    problems: dict[str, str] = {}
    if not kind.name or len(kind.name) > MAX_NAME or " with " in f" {kind.name} ":
        problems["name"] = (
            f"A name of 1 to {MAX_NAME} characters, without the word “with” "
            "(`/schedule <type> with …` reads up to it)."
        )
    if not MIN_MINUTES <= kind.duration_minutes <= MAX_MINUTES:
        problems["duration"] = f"Between {MIN_MINUTES} and {MAX_MINUTES} minutes."
    if kind.platform not in PLATFORMS:
        problems["platform"] = "Pick one of the listed places."
    if kind.platform in NEEDS_LOCATION and not kind.location.strip():
        problems["location"] = f"Say {NEEDS_LOCATION[kind.platform]}."
    if len(kind.location) > MAX_LOCATION:
        problems["location"] = f"Keep it under {MAX_LOCATION} characters."
    hours = kind.follow_up_hours
    if not 1 <= len(hours) <= MAX_FOLLOW_UPS or any(
        not 1 <= h <= MAX_FOLLOW_UP_HOURS for h in hours
    ):
        problems["follow_ups"] = (
            f"1 to {MAX_FOLLOW_UPS} waits in hours, each from 1 to {MAX_FOLLOW_UP_HOURS}, "
            "e.g. `24, 48, 72`."
        )
    if kind.reminder_rule not in REMINDER_RULES:
        problems["reminder"] = "Pick one of the listed reminders."
    if wording := check_templates(dict(kind.wording)):
        problems["wording"] = "; ".join(wording)[:500]
    return problems
