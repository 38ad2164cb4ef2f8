"""The morning brief DM as Block Kit. Pure functions of `skills.compose_brief.Brief`.

Each item that can be acted on gets its own actions block (`brief:…`) with the brief's own
action ids (Approve, Retry, Held · No-show · Rescheduled, a decision's Open). The listener
(bot/listeners/brief.py) applies a click exactly as the item's own card would, then redraws the
brief in place with `settle_item`: that item's buttons give way to its outcome, the rest of the
brief stays as it was. Edit opens the draft's usual edit modal (`edit_action`); editing decides
nothing, so the item keeps its buttons.
"Review all" posts the batch review card (bot/listeners/review.py) for every waiting draft.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.blocks import Block, button, context, escape, section
from bot.meeting_blocks import ANSWERED
from orchestrator.views import ActionView, start_token
from skills.compose_brief import AttentionItem, Brief, MeetingLine

# The brief's buttons: action_id -> what the click does.
DRAFT_BUTTONS = {"brief_approve": "approve", "brief_retry": "retry"}
MEETING_BUTTONS = {
    "brief_meeting_held": "held",
    "brief_meeting_no_show": "no_show",
    "brief_meeting_rescheduled": "rescheduled",
}
OPEN_DECISION = "brief_open_decision"

# Items with buttons cost two blocks each; this keeps a busy morning well under Slack's 50.
MAX_ATTENTION = 10
MAX_MEETINGS = 10
MAX_AT_RISK = 5


def _clock(moment: datetime, tz: str) -> str:
    local = moment.astimezone(ZoneInfo(tz))
    return f"{local.hour % 12 or 12}:{local:%M} {local:%p} {local.tzname()}"


def _meeting(line: MeetingLine, tz: str) -> str:
    if not line.ref:
        # Calendar time that isn't one of the rep's requests: free/busy gives no title.
        until = f" until {_clock(line.end, tz)}" if line.end else ""
        return f"• *{_clock(line.start, tz)}* — busy on your calendar{until}"
    who = f" with {escape(line.prospect)}" if line.prospect else ""
    text = f"• *{_clock(line.start, tz)}* — {escape(line.title)}{who} ({escape(line.ref)})"
    if line.booked_by_convene:
        text += " · _booked by Convene_"
    if line.on_calendar is False:
        text += " · :warning: not on your calendar any more"
    return text


def _actions(item: AttentionItem) -> Block | None:
    """The item's buttons, in a block of their own; None for an item nothing can be done from."""
    if item.action_id is not None:
        block_id = f"brief:{item.action_id}"
        if item.kind == "approval":
            elements = [
                button("Approve & send", "brief_approve", item.action_id, "primary"),
                button("Edit", "edit_action", item.action_id),
            ]
        else:
            elements = [button("Retry", "brief_retry", item.action_id)]
    elif item.kind == "meeting_check" and item.request_id and item.meeting_start:
        block_id = f"brief:meeting:{item.request_id}"
        value = f"{item.request_id}|{start_token(item.meeting_start)}"
        elements = [
            button("Held", "brief_meeting_held", value, "primary"),
            button("No-show", "brief_meeting_no_show", value, "danger"),
            button("Rescheduled", "brief_meeting_rescheduled", value),
        ]
    elif item.kind == "decision" and item.request_id:
        block_id = f"brief:decision:{item.request_id}"
        elements = [button("Open", OPEN_DECISION, item.request_id)]
    else:
        return None
    return {"type": "actions", "block_id": block_id, "elements": elements}


def _attention_blocks(item: AttentionItem) -> list[Block]:
    blocks = [section(f"• *{escape(item.ref)}* · {escape(item.text)}")]
    if (actions := _actions(item)) is not None:
        blocks.append(actions)
    elif item.kind == "paused":
        blocks.append(context(f"`/schedule resume {escape(item.ref)}` picks it up again."))
    return blocks


def brief_card(brief: Brief) -> tuple[str, list[Block]]:
    """(fallback text, blocks) for the brief's DM."""
    tz = brief.timezone
    blocks: list[Block] = [section(f":sunrise: *{escape(brief.greeting)}*")]
    if brief.meetings:
        lines = [_meeting(m, tz) for m in brief.meetings[:MAX_MEETINGS]]
        if len(brief.meetings) > MAX_MEETINGS:
            lines.append(f"…and {len(brief.meetings) - MAX_MEETINGS} more")
        blocks.append(section(f"*:calendar: Today's meetings ({len(brief.meetings)})*"))
        blocks.append(section("\n".join(lines)))
    elif brief.calendar_note:
        blocks.append(section("*:calendar: Today's meetings*"))
    if brief.calendar_note:
        blocks.append(context(f":warning: {brief.calendar_note}"))
    if brief.attention:
        header = section(f"*:envelope: Needs your attention ({len(brief.attention)})*")
        if any(item.kind == "approval" for item in brief.attention):
            header["accessory"] = button("Review all", "review_all", "review")
        blocks.append(header)
        for item in brief.attention[:MAX_ATTENTION]:
            blocks += _attention_blocks(item)
        if len(brief.attention) > MAX_ATTENTION:
            more = len(brief.attention) - MAX_ATTENTION
            blocks.append(context(f"…and {more} more on your Home tab."))
    pulse = [f"• {n} {label}" for label, n in brief.pulse]
    pulse += [
        f"• At risk: *{escape(r.ref)}* {escape(r.title)} — {escape(r.reason)}"
        for r in brief.at_risk[:MAX_AT_RISK]
    ]
    if pulse:
        blocks.append(section("*:bar_chart: Scheduling pulse*\n" + "\n".join(pulse)))
    fallback = _fallback(brief)
    return fallback, blocks


def _fallback(brief: Brief) -> str:
    parts = [brief.greeting]
    if brief.meetings:
        parts.append(_count(len(brief.meetings), "meeting", "meetings") + " today")
    if brief.attention:
        parts.append(_count(len(brief.attention), "thing needs", "things need") + " you")
    if brief.at_risk:
        parts.append(_count(len(brief.at_risk), "request", "requests") + " at risk")
    return " · ".join(parts)


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


# --- after a click: the brief redrawn in place ------------------------------------------------


def settle_item(
    blocks: list[dict[str, Any]], *, action_id: str, value: str, note: str
) -> list[Block] | None:
    """The brief's `blocks` (as the click's payload carries them) with the clicked item's
    buttons replaced by `note`; every other block as it was. None if the click's button is not
    on a brief item (the brief was redrawn since, or it is not a brief)."""
    for i, block in enumerate(blocks):
        if block.get("type") != "actions" or not str(block.get("block_id", "")).startswith(
            "brief:"
        ):
            continue
        elements = block.get("elements") or []
        if any(e.get("action_id") == action_id and e.get("value") == value for e in elements):
            return [*blocks[:i], context(note), *blocks[i + 1 :]]
    return None


def draft_note(decision: str, view: ActionView) -> str:
    """What a draft's item says once it was approved or retried from the brief."""
    if decision == "retry":
        return ":repeat: Retrying now — the draft's card shows how it goes"
    if view.undo_until is None:
        return ":white_check_mark: Approved (see the draft's card)"
    when = _clock(view.undo_until, view.rep_timezone)
    return f":white_check_mark: Approved — sending at {when} (Undo on the draft's card)"


def meeting_note(answer: str) -> str:
    """What a meeting-check item says once answered from the brief: what its card says."""
    return ANSWERED.get(answer, answer)


DECISION_NOTE = ":point_down: Its card is posted again below; decide there."
