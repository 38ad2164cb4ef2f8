"""The time picker card (seed 002 Build 3): each time in the rep's zone and the prospect's, with
a warning when it is early or late for them; tick times, then email them, send an invite for
one, see more, or take it over. Pure functions of `PickerView`; untrusted text is escaped here.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Literal
from zoneinfo import ZoneInfo

from bot.blocks import Block, button, context, escape, section
from orchestrator.views import PAGE_SIZE, PickerOption, PickerView
from skills.find_slots import REASONABLE_HOURS

Fit = Literal["early", "late", "ok"]
FIT_MARK: dict[Fit, str] = {
    "early": ":warning: early for them",
    "late": ":warning: late for them",
    "ok": "✓",
}
OPTION_TEXT_LIMIT = 75  # Slack's cap for a checkbox option's text and description
SELECT_ACTION = "picker_select"
CHOICE_BUTTONS = {
    "picker_email": "Send these times by email",
    "picker_invite": "Send invite for one",
}


def fit_for_them(start: datetime, end: datetime, tz: str) -> Fit:
    """Early or late by the prospect's wall clock (the finder's 08:00-18:00), else ok."""
    zone = ZoneInfo(tz)
    local_start = start.astimezone(zone)
    # Wall-clock offsets from their midnight, so a DST change that day doesn't shift them.
    midnight = datetime.combine(local_start.date(), time())
    begins = local_start.replace(tzinfo=None) - midnight
    ends = end.astimezone(zone).replace(tzinfo=None) - midnight
    if begins < REASONABLE_HOURS[0]:
        return "early"
    if ends > REASONABLE_HOURS[1]:
        return "late"
    return "ok"


def _clock(moment: datetime) -> tuple[str, str]:
    return f"{moment.hour % 12 or 12}:{moment:%M}", f"{moment:%p}"


def _day(moment: datetime) -> str:
    return f"{moment:%a %b} {moment.day}"


def time_range(start: datetime, end: datetime, tz: str, *, with_day: bool = True) -> str:
    """`Thu Dec 3, 10:00–10:30 AM EST`; the meridiem once when both ends share it."""
    zone = ZoneInfo(tz)
    local_start, local_end = start.astimezone(zone), end.astimezone(zone)
    (first, first_half), (last, last_half) = _clock(local_start), _clock(local_end)
    span = (
        f"{first}–{last} {last_half}"
        if first_half == last_half
        else f"{first} {first_half}–{last} {last_half}"
    )
    day = f"{_day(local_start)}, " if with_day else ""
    return f"{day}{span} {local_start.tzname()}"


def their_side(option: PickerOption, rep_tz: str, prospect_tz: str) -> tuple[str, str]:
    """(their clock, fit mark): their clock (with their date when it differs from ours) is
    empty when we share a zone."""
    mark = FIT_MARK[fit_for_them(option.start, option.end, prospect_tz)]
    if ZoneInfo(prospect_tz).key == ZoneInfo(rep_tz).key:
        return "", mark
    same_day = (
        option.start.astimezone(ZoneInfo(prospect_tz)).date()
        == option.start.astimezone(ZoneInfo(rep_tz)).date()
    )
    return time_range(option.start, option.end, prospect_tz, with_day=not same_day), mark


def option_line(option: PickerOption, rep_tz: str, prospect_tz: str) -> str:
    """One time as a line: `Thu Dec 3, 10:00–10:30 AM EST / 3:00–3:30 PM GMT ✓`."""
    ours = time_range(option.start, option.end, rep_tz)
    theirs, mark = their_side(option, rep_tz, prospect_tz)
    return f"{ours} / {theirs} {mark}" if theirs else f"{ours} {mark}"


def _clip(text: str, limit: int = OPTION_TEXT_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _checkbox(option: PickerOption, rep_tz: str, prospect_tz: str) -> Block:
    theirs, mark = their_side(option, rep_tz, prospect_tz)
    description = f"For them: {theirs} {mark}" if theirs else mark
    return {
        "text": {"type": "mrkdwn", "text": _clip(time_range(option.start, option.end, rep_tz))},
        "description": {"type": "mrkdwn", "text": _clip(description)},
        "value": str(option.index),
    }


def _title(view: PickerView) -> str:
    who = f" with {escape(view.prospect)}" if view.prospect else ""
    what = escape(view.meeting_type)
    return f":calendar: *Times for a {view.duration_minutes} min {what}{who}* · {escape(view.ref)}"


def picker_card(view: PickerView) -> tuple[str, list[Block]]:
    """(fallback text, blocks): open with choices, or final once the rep chose."""
    fallback = (
        f"Times for a {view.duration_minutes} min {escape(view.meeting_type)}"
        f"{' with ' + escape(view.prospect) if view.prospect else ''} ({escape(view.ref)})"
    )
    blocks = [section(_title(view))]
    if view.choice is not None:
        return fallback, blocks + _final_blocks(view)
    shown = view.shown()
    zones = f"Your time first, then theirs ({escape(view.prospect_timezone)})"
    if ZoneInfo(view.prospect_timezone).key == ZoneInfo(view.rep_timezone).key:
        zones = f"You're both on {escape(view.rep_timezone)} time"
    first = view.page * PAGE_SIZE + 1
    if len(view.options) > len(shown):
        zones += f" · times {first}–{first + len(shown) - 1} of {len(view.options)}"
    blocks.append(context(f"{zones} · :warning: means before 8:00 or after 18:00 for them"))
    blocks.append(
        {
            "type": "actions",
            # The page is part of the id, so a fresh page starts with nothing ticked.
            "block_id": f"picker_pick:{view.job_id}:{view.page}",
            "elements": [
                {
                    "type": "checkboxes",
                    "action_id": SELECT_ACTION,
                    "options": [
                        _checkbox(o, view.rep_timezone, view.prospect_timezone) for o in shown
                    ],
                }
            ],
        }
    )
    value = f"{view.job_id}:{view.page}"
    buttons = [
        button(CHOICE_BUTTONS["picker_email"], "picker_email", value, "primary"),
        button(CHOICE_BUTTONS["picker_invite"], "picker_invite", value),
    ]
    if view.has_more():
        buttons.append(button("Show more", "picker_more", value))
    buttons.append(button("I'll handle this", "picker_handle", value))
    blocks.append({"type": "actions", "block_id": f"picker_go:{view.job_id}", "elements": buttons})
    blocks.append(
        context(
            "Tick times to email only those (none ticked: all shown). "
            "An invite needs exactly one. Nothing is sent until you approve the draft."
        )
    )
    return fallback, blocks


def _final_blocks(view: PickerView) -> list[Block]:
    who = f"<@{view.decided_by}>" if view.decided_by else "You"
    ref = escape(view.ref)
    if view.choice == "handle":
        return [
            context(
                f":raised_hand: {who} took this over: {ref} is paused and nothing was sent. "
                f"`/schedule resume {ref}` hands it back."
            )
        ]
    lines = "\n".join(
        f"• {option_line(o, view.rep_timezone, view.prospect_timezone)}" for o in view.shown()
    )
    if view.choice == "email":
        these = "this time" if len(view.chosen) == 1 else "these times"
        outcome = f":email: {who} chose to email {these}; the draft comes here for approval."
    else:
        outcome = f":calendar: {who} chose to send an invite for this time; approve it on its card."
    return [section(lines), context(outcome)]
