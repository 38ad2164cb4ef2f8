"""`/schedule templates`: the list of a team's meeting types, and the modal an admin edits one in.

Pure: builds views and reads submissions; the listener decides who may open it and saves.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from bot.blocks import button, section
from orchestrator.meeting_kinds import (
    MAX_LOCATION,
    MAX_NAME,
    PLATFORMS,
    REMINDER_RULES,
    MeetingKind,
    kind_problems,
)
from orchestrator.mrkdwn import escape_mrkdwn as escape

CALLBACK_ID = "meeting_type"
EDIT_ACTION = "edit_meeting_type"
NEW_ACTION = "new_meeting_type"
# One override per section: a `[template id.subject]` or `[template id.body]` line, then its text.
SECTION = re.compile(r"^\[([a-z_]+\.(?:subject|body))\]\s*$", re.MULTILINE)
WORDING_LIMIT = 3000  # Slack's cap on a text input


def templates_message(kinds: Mapping[str, MeetingKind]) -> tuple[str, list[dict[str, Any]]]:
    """Every type with its length, place and cadence, an Edit button each, and one to add."""
    blocks: list[dict[str, Any]] = [section("*Meeting types* · the form and `/schedule` use these")]
    for kind in kinds.values():
        place = PLATFORMS.get(kind.platform, kind.platform)
        if kind.location:
            place += f" ({kind.location})"
        line = (
            f"*{escape(kind.name)}* · {kind.duration_minutes} min · {escape(place)} · "
            f"follow-ups after {', '.join(str(h) for h in kind.follow_up_hours)} h · "
            f"{REMINDER_RULES.get(kind.reminder_rule, kind.reminder_rule).lower()}"
            + (f" · {len(kind.wording)} wording override(s)" if kind.wording else "")
            + ("" if kind.saved else " · _built-in_")
        )
        blocks.append(
            section(line) | {"accessory": button("Edit", EDIT_ACTION, kind.name[:MAX_NAME])}
        )
    blocks.append({"type": "actions", "elements": [button("New meeting type", NEW_ACTION, "new")]})
    return "Meeting types", blocks


def _input(
    block_id: str, label: str, element: dict[str, Any], *, optional: bool = False, hint: str = ""
) -> dict[str, Any]:
    block: dict[str, Any] = {
        "type": "input",
        "block_id": block_id,
        "optional": optional,
        "label": {"type": "plain_text", "text": label},
        "element": {**element, "action_id": block_id},
    }
    if hint:
        block["hint"] = {"type": "plain_text", "text": hint}
    return block


def _option(label: str, value: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": label}, "value": value}


def _text(initial: str, **extra: Any) -> dict[str, Any]:
    return {"type": "plain_text_input", **({"initial_value": initial} if initial else {}), **extra}


def wording_text(wording: tuple[tuple[str, str], ...]) -> str:
    return "\n".join(f"[{key}]\n{text.strip()}\n" for key, text in wording).strip()


def read_wording(text: str) -> tuple[tuple[tuple[str, str], ...], str | None]:
    """The overrides typed in the wording box, or what is wrong with its layout."""
    text = text.strip()
    if not text:
        return (), None
    marks = list(SECTION.finditer(text))
    if not marks or text[: marks[0].start()].strip():
        return (), "Start each override with a line like `[initial.subject]` or `[follow_up.body]`."
    found: dict[str, str] = {}
    for mark, following in zip(marks, [*marks[1:], None], strict=True):
        body = text[mark.end() : following.start() if following else len(text)].strip()
        if not body:
            return (), f"`[{mark.group(1)}]` has no text under it."
        found[mark.group(1)] = body
    return tuple(sorted(found.items())), None


def template_view(kind: MeetingKind | None) -> dict[str, Any]:
    """The modal: empty for a new type, filled in for an existing one (a saved one's name rides
    in `private_metadata`, so a rename edits that row)."""
    kind = kind or MeetingKind(name="")
    platform = _option(PLATFORMS.get(kind.platform, kind.platform), kind.platform)
    reminder = _option(REMINDER_RULES.get(kind.reminder_rule, "Morning of"), kind.reminder_rule)
    return {
        "type": "modal",
        "callback_id": CALLBACK_ID,
        # A saved type is edited in place, renamed or not; anything else is a new row.
        "private_metadata": json.dumps({"replaces": kind.name if kind.saved else None}),
        "title": {"type": "plain_text", "text": "Meeting type"},
        "submit": {"type": "plain_text", "text": "Save"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            _input("name", "Name", _text(kind.name, max_length=MAX_NAME), hint="e.g. demo"),
            _input(
                "duration",
                "Length in minutes",
                {
                    "type": "number_input",
                    "is_decimal_allowed": False,
                    "min_value": "10",
                    "max_value": "240",
                    "initial_value": str(kind.duration_minutes),
                },
            ),
            _input(
                "platform",
                "Where",
                {
                    "type": "static_select",
                    "options": [_option(label, value) for value, label in PLATFORMS.items()],
                    "initial_option": platform,
                },
            ),
            _input(
                "location",
                "Phone number or address",
                _text(kind.location, max_length=MAX_LOCATION),
                optional=True,
                hint="Needed for phone and in-person meetings, e.g. “+1 555 0100, we call you”.",
            ),
            _input(
                "follow_ups",
                "Follow up after (hours)",
                _text(", ".join(str(h) for h in kind.follow_up_hours)),
                hint="The wait before each follow-up, e.g. 24, 48, 72: three follow-ups at most.",
            ),
            _input(
                "reminder",
                "Reminder",
                {
                    "type": "static_select",
                    "options": [_option(label, value) for value, label in REMINDER_RULES.items()],
                    "initial_option": reminder,
                },
            ),
            _input(
                "wording",
                "Wording overrides",
                _text(
                    wording_text(kind.wording),
                    multiline=True,
                    max_length=WORDING_LIMIT,
                    placeholder={
                        "type": "plain_text",
                        "text": "[initial.subject]\n{meeting_title} with {rep_name}?",
                    },
                ),
                optional=True,
                hint="Optional. A [template.subject] or [template.body] line, then its text. "
                "Placeholders such as {greeting}, {slots}, {time}, {signature}.",
            ),
        ],
    }


def read_template(
    values: dict[str, Any], metadata: str
) -> tuple[MeetingKind | None, str | None, dict[str, str]]:
    """(the type to save, the name it replaces, field errors)."""

    def value(block: str, key: str = "value") -> Any:
        return (values.get(block, {}).get(block) or {}).get(key)

    def chosen(block: str) -> str:
        return str((value(block, "selected_option") or {}).get("value") or "")

    try:
        replaces = json.loads(metadata or "{}").get("replaces")
    except (ValueError, AttributeError):
        replaces = None
    errors: dict[str, str] = {}
    try:
        duration = int(value("duration") or 0)
    except ValueError:
        duration = 0
    try:
        hours = tuple(int(h) for h in re.split(r"[\s,;]+", value("follow_ups") or "") if h)
    except ValueError:
        hours = ()
    wording, layout = read_wording(value("wording") or "")
    kind = MeetingKind(
        name=" ".join((value("name") or "").split()).lower(),
        duration_minutes=duration,
        platform=chosen("platform"),
        location=(value("location") or "").strip(),
        follow_up_hours=hours,
        reminder_rule=chosen("reminder"),
        wording=wording,
        saved=True,
    )
    errors = kind_problems(kind)
    if layout:
        errors["wording"] = layout
    if errors:
        return None, replaces if isinstance(replaces, str) else None, errors
    return kind, replaces if isinstance(replaces, str) else None, {}
