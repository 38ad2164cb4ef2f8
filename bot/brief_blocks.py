"""The morning brief DM as Block Kit. Pure functions of `skills.compose_brief.Brief`.

Buttons reuse the approval card's action ids (`approve_action`, `edit_action`, `retry_action`),
so a draft can be decided from the brief with the same listeners and the same ownership checks;
each item gets its own actions block, which keeps those ids unique per block as Slack requires.
"Review all" posts the batch review card (bot/listeners/review.py) for every waiting draft.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.blocks import Block, button, context, escape, section
from skills.compose_brief import AttentionItem, Brief, MeetingLine

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


def _attention_blocks(item: AttentionItem) -> list[Block]:
    blocks = [section(f"• *{escape(item.ref)}* · {escape(item.text)}")]
    if item.action_id is None:
        if item.kind == "paused":
            blocks.append(context(f"`/schedule resume {escape(item.ref)}` picks it up again."))
        return blocks
    if item.kind == "approval":
        elements = [
            button("Approve & send", "approve_action", item.action_id, "primary"),
            button("Edit", "edit_action", item.action_id),
        ]
    else:
        elements = [button("Retry", "retry_action", item.action_id)]
    blocks.append({"type": "actions", "block_id": f"brief:{item.action_id}", "elements": elements})
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
