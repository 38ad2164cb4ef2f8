"""The new-request modal: its view, and turning a submission into a command or field errors.

Pure functions: the listener opens the view and calls `read_submission`; nothing here talks to
Slack or the database.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.commands import EMAIL, MAX_CONTEXT, zone_named
from orchestrator.engine.event_types import EventType
from orchestrator.meeting_kinds import PLATFORMS, MeetingKind, built_in_kinds, kind_named
from orchestrator.views import Guest, ScheduleCommand

CALLBACK_ID = "schedule_request"
DURATIONS = (15, 30, 45, 60, 90)
PARTS = ("morning", "afternoon", "evening")
AVOID = ("monday", "friday", "friday_afternoon")
# "Jane Doe <jane@acme.com>", "jane@acme.com", either followed by "(optional)".
GUEST_LINE = re.compile(
    r"^\s*(?:(?P<name>[^<]+?)\s*<(?P<a>[^>]+)>|(?P<b>\S+))\s*(?P<opt>\(optional\))?\s*$", re.I
)


def _option(text: str, value: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": text}, "value": value}


def _input(
    block_id: str,
    label: str,
    element: dict[str, Any],
    *,
    optional: bool = False,
    hint: str | None = None,
) -> dict[str, Any]:
    block: dict[str, Any] = {
        "type": "input",
        "block_id": block_id,
        "label": {"type": "plain_text", "text": label},
        "element": {**element, "action_id": block_id},
        "optional": optional,
    }
    if hint:
        block["hint"] = {"type": "plain_text", "text": hint}
    return block


def new_request_view(
    *,
    today: date,
    prefill: ScheduleCommand | None = None,
    tz: str = "UTC",
    event_type: str = EventType.scheduling_requested,
    kinds: Mapping[str, MeetingKind] | None = None,
) -> dict[str, Any]:
    """The form, empty or filled in from an inline command (`prefill`, read in zone `tz`).

    `event_type` rides in `private_metadata` so a `/schedule times …` edited here still ends in
    the time picker."""
    kinds = kinds if kinds is not None else built_in_kinds()
    types = [
        _option(f"{kind.name.capitalize()} ({kind.duration_minutes} min)", kind.name)
        for kind in kinds.values()
    ]
    chosen_type = types[0]
    durations = [_option(f"{m} min", str(m)) for m in DURATIONS]
    duration: dict[str, Any] = {}
    first_day, last_day = today + timedelta(days=1), today + timedelta(days=8)
    guests = context = where = ""
    place: dict[str, Any] = {}
    if prefill is not None:
        chosen_type = next(
            (o for o in types if o["value"] == prefill.meeting_type),
            _option(prefill.meeting_type.capitalize(), prefill.meeting_type),
        )
        if chosen_type not in types:
            types.append(chosen_type)
        length = _option(f"{prefill.duration_minutes} min", str(prefill.duration_minutes))
        if length not in durations:
            durations = sorted([*durations, length], key=lambda o: int(o["value"]))
        duration = {"initial_option": length}
        if prefill.window_start is not None and prefill.window_end is not None:
            zone = ZoneInfo(tz)
            first_day = prefill.window_start.astimezone(zone).date()
            last_day = (prefill.window_end - timedelta(microseconds=1)).astimezone(zone).date()
        guests = "\n".join(
            f"{g.name} <{g.email}>" if g.name else g.email for g in prefill.external()
        )
        context = prefill.context
        where = prefill.prospect_timezone or ""
        if prefill.platform in PLATFORMS:
            place = {"initial_option": _option(PLATFORMS[prefill.platform], prefill.platform)}
    blocks = [
        _input(
            "meeting_type",
            "Meeting type",
            {"type": "static_select", "options": types, "initial_option": chosen_type},
        ),
        _input(
            "duration",
            "Length",
            {"type": "static_select", "options": durations, **duration},
            optional=True,
            hint="Leave empty for the meeting type's usual length.",
        ),
        _input(
            "teammates", "Our team (besides you)", {"type": "multi_users_select"}, optional=True
        ),
        _input(
            "guests",
            "Their team",
            {
                "type": "plain_text_input",
                "multiline": True,
                "placeholder": {
                    "type": "plain_text",
                    "text": "Jane Doe <jane@acme.com>\nsam@acme.com (optional)",
                },
                **({"initial_value": guests} if guests else {}),
            },
            hint="One per line. Add (optional) for people who need not attend.",
        ),
        _input(
            "prospect_zone",
            "Where they are",
            {
                "type": "plain_text_input",
                "placeholder": {"type": "plain_text", "text": "London, or Europe/London"},
                **({"initial_value": where} if where else {}),
            },
            optional=True,
            hint="A city or time zone; times in the email are written in theirs.",
        ),
        _input(
            "window_start",
            "Earliest day",
            {"type": "datepicker", "initial_date": first_day.isoformat()},
        ),
        _input(
            "window_end",
            "Latest day",
            {"type": "datepicker", "initial_date": last_day.isoformat()},
        ),
        _input(
            "preferred",
            "Preferred times",
            {"type": "checkboxes", "options": [_option(p.capitalize(), p) for p in PARTS]},
            optional=True,
        ),
        _input(
            "avoid",
            "Avoid",
            {
                "type": "checkboxes",
                "options": [_option(a.replace("_", " ").capitalize(), a) for a in AVOID],
            },
            optional=True,
        ),
        _input(
            "platform",
            "Where",
            {
                "type": "static_select",
                "options": [_option(label, value) for value, label in PLATFORMS.items()],
                **place,
            },
            optional=True,
            hint="Leave empty for the meeting type's usual place.",
        ),
        _input(
            "context",
            "Context for the email",
            {
                "type": "plain_text_input",
                "multiline": True,
                "max_length": MAX_CONTEXT,
                **({"initial_value": context} if context else {}),
            },
            optional=True,
            hint="One or two sentences the email can use, e.g. what they asked about.",
        ),
    ]
    return {
        "type": "modal",
        "callback_id": CALLBACK_ID,
        "private_metadata": event_type,
        "title": {"type": "plain_text", "text": "New meeting"},
        "submit": {"type": "plain_text", "text": "Find times"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": blocks,
    }


@dataclass(frozen=True)
class Submission:
    command: ScheduleCommand | None
    teammate_ids: tuple[str, ...]
    errors: dict[str, str]  # block_id → message, shown under the field


def _value(values: dict[str, Any], block_id: str) -> dict[str, Any]:
    return dict(values.get(block_id, {}).get(block_id) or {})


def read_submission(
    values: dict[str, Any],
    *,
    now: datetime,
    tz: str,
    kinds: Mapping[str, MeetingKind] | None = None,
) -> Submission:
    """Validate the modal's state; field errors instead of exceptions. Length and place left
    empty are the meeting type's (`kinds`: the team's types, the built-in ones by default)."""
    errors: dict[str, str] = {}
    meeting = (_value(values, "meeting_type").get("selected_option") or {}).get("value", "demo")
    kind = kind_named(kinds if kinds is not None else built_in_kinds(), meeting)
    chosen = (_value(values, "duration").get("selected_option") or {}).get("value")
    duration = int(chosen) if chosen else kind.duration_minutes

    guests: list[Guest] = []
    for line in (_value(values, "guests").get("value") or "").splitlines():
        if not line.strip():
            continue
        match = GUEST_LINE.match(line)
        address = (match.group("a") or match.group("b")).strip().lower() if match else ""
        if not match or not EMAIL.match(address):
            errors["guests"] = f"`{line.strip()}` isn't `Name <email>` or an email address."
            break
        guests.append(Guest(address, (match.group("name") or "").strip(), not match.group("opt")))
    if not guests and "guests" not in errors:
        errors["guests"] = "Add at least one person from their side."
    elif guests and not any(g.required for g in guests):
        errors["guests"] = "At least one person on their side must be required."

    where = (_value(values, "prospect_zone").get("value") or "").strip()
    prospect_timezone = zone_named(where) if where else None
    if where and prospect_timezone is None:
        errors["prospect_zone"] = f"I don't know the time zone of `{where}`: try Europe/London."

    zone = ZoneInfo(tz)
    first = _value(values, "window_start").get("selected_date")
    last = _value(values, "window_end").get("selected_date")
    start = end = None
    if first and last:
        start = datetime.combine(date.fromisoformat(first), datetime.min.time(), zone)
        end = datetime.combine(
            date.fromisoformat(last) + timedelta(days=1), datetime.min.time(), zone
        )
        if end <= now:
            errors["window_end"] = "That range is over already."
        elif end <= start:
            errors["window_end"] = "The latest day must be on or after the earliest."
        start = max(start, now)
    if errors:
        return Submission(None, (), errors)
    teammate_ids = tuple(_value(values, "teammates").get("selected_users") or ())
    checked = lambda block: tuple(  # noqa: E731 - tiny local reader
        o["value"] for o in _value(values, block).get("selected_options") or ()
    )
    platform = (_value(values, "platform").get("selected_option") or {}).get("value")
    platform = platform or kind.platform
    command = ScheduleCommand(
        meeting_type=meeting,
        emails=tuple(g.email for g in guests),
        guests=tuple(guests),
        duration_minutes=duration,
        window_start=start,
        window_end=end,
        context=(_value(values, "context").get("value") or "").strip(),
        preferred_times=checked("preferred"),
        avoid_days=checked("avoid"),
        platform=platform,
        # The type's number or address goes with the type's place, not with another one.
        location=kind.location if platform == kind.platform else "",
        prospect_timezone=prospect_timezone,
    )
    return Submission(command, teammate_ids, {})
