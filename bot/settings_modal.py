"""`/schedule settings`: the rep's own time zone, hours, brief time, quiet hours, limits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

CALLBACK_ID = "rep_settings"
WEEKDAYS = [str(d) for d in range(5)]


@dataclass(frozen=True)
class RepSettings:
    timezone: str
    work_start: str  # "09:00"
    work_end: str
    brief_time: str
    quiet_start: str | None
    quiet_end: str | None
    daily_send_limit: int
    delegates: tuple[str, ...]
    zoom_link: str = ""


def _block(
    block_id: str, label: str, element: dict[str, Any], optional: bool = False
) -> dict[str, Any]:
    return {
        "type": "input",
        "block_id": block_id,
        "optional": optional,
        "label": {"type": "plain_text", "text": label},
        "element": {**element, "action_id": block_id},
    }


def _timepicker(initial: str | None) -> dict[str, Any]:
    return {"type": "timepicker", **({"initial_time": initial} if initial else {})}


def settings_view(current: RepSettings) -> dict[str, Any]:
    delegates: dict[str, Any] = {"type": "multi_users_select"}
    if current.delegates:
        delegates["initial_users"] = list(current.delegates)
    return {
        "type": "modal",
        "callback_id": CALLBACK_ID,
        "title": {"type": "plain_text", "text": "Convene settings"},
        "submit": {"type": "plain_text", "text": "Save"},
        "blocks": [
            _block(
                "timezone",
                "Time zone (e.g. America/New_York)",
                {"type": "plain_text_input", "initial_value": current.timezone},
            ),
            _block("work_start", "Workday starts (Mon–Fri)", _timepicker(current.work_start)),
            _block("work_end", "Workday ends", _timepicker(current.work_end)),
            _block("brief_time", "Morning brief at", _timepicker(current.brief_time)),
            _block("quiet_start", "Quiet hours from", _timepicker(current.quiet_start), True),
            _block("quiet_end", "Quiet hours until", _timepicker(current.quiet_end), True),
            _block(
                "daily_send_limit",
                "Most emails per day",
                {
                    "type": "number_input",
                    "is_decimal_allowed": False,
                    "min_value": "1",
                    "max_value": "500",
                    "initial_value": str(current.daily_send_limit),
                },
            ),
            _block("delegates", "Who may approve for you", delegates, True),
            _block(
                "zoom_link",
                "Your Zoom meeting link",
                {
                    "type": "plain_text_input",
                    "max_length": 300,
                    **({"initial_value": current.zoom_link} if current.zoom_link else {}),
                },
                True,
            ),
        ],
    }


def read_settings(values: dict[str, Any]) -> tuple[RepSettings | None, dict[str, str]]:
    def get(block: str, key: str) -> Any:
        return (values.get(block, {}).get(block) or {}).get(key)

    errors: dict[str, str] = {}
    zone = (get("timezone", "value") or "").strip()
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        errors["timezone"] = f"`{zone}` isn't a time zone name like Europe/Berlin."
    start, end = get("work_start", "selected_time"), get("work_end", "selected_time")
    if start and end and time.fromisoformat(end) <= time.fromisoformat(start):
        errors["work_end"] = "The workday must end after it starts."
    quiet = (get("quiet_start", "selected_time"), get("quiet_end", "selected_time"))
    if (quiet[0] is None) != (quiet[1] is None):
        errors["quiet_end"] = "Give both ends of quiet hours, or neither."
    try:
        limit = int(get("daily_send_limit", "value") or 0)
    except ValueError:
        limit = 0
    if not 1 <= limit <= 500:
        errors["daily_send_limit"] = "Between 1 and 500."
    zoom_link = (get("zoom_link", "value") or "").strip()
    if zoom_link and not is_zoom_link(zoom_link):
        errors["zoom_link"] = "A https://…zoom.us/j/… link, as Zoom shows it."
    if errors:
        return None, errors
    return RepSettings(
        timezone=zone,
        work_start=start or "09:00",
        work_end=end or "17:00",
        brief_time=get("brief_time", "selected_time") or "08:00",
        quiet_start=quiet[0],
        quiet_end=quiet[1],
        daily_send_limit=limit,
        delegates=tuple(get("delegates", "selected_users") or ()),
        zoom_link=zoom_link,
    ), {}


def is_zoom_link(link: str) -> bool:
    """An https link on Zoom's own domains: it goes into every invitation the rep sends."""
    parts = urlsplit(link)
    host = (parts.hostname or "").lower()
    zoom = any(host == d or host.endswith("." + d) for d in ("zoom.us", "zoom.com", "zoomgov.com"))
    return parts.scheme == "https" and zoom and not parts.username and " " not in link
