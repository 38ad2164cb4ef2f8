"""The after-the-meeting card: did it happen? Held · No-show · Rescheduled, then the answer."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.blocks import Block, button, context, section
from orchestrator.mrkdwn import escape_mrkdwn as escape
from orchestrator.views import MeetingCheck

# action_id -> the answer it records; the listener registers one handler per id.
ANSWERS = {
    "meeting_held": "held",
    "meeting_no_show": "no_show",
    "meeting_rescheduled": "rescheduled",
}
ANSWERED = {
    "held": ":white_check_mark: Held",
    "no_show": ":ghost: No-show — drafting fresh times for your approval",
    "rescheduled": ":repeat: Rescheduled — drafting fresh times for your approval",
}


def meeting_check_card(check: MeetingCheck) -> tuple[str, list[Block]]:
    """Buttons while unanswered; once answered, the answer (and who gave it) in their place."""
    try:
        zone = ZoneInfo(check.rep_timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    start, end = check.start.astimezone(zone), check.end.astimezone(zone)
    when = f"{start:%a %b} {start.day}, {start:%H:%M}–{end:%H:%M %Z}"
    title = f"*{escape(check.ref)}* · {escape(check.title)}"
    who = f" with {escape(check.prospect)}" if check.prospect else ""
    # Notifications render the fallback text too, so it is escaped like the blocks.
    fallback = f"Did {escape(check.ref)} ({escape(check.title)}) happen?"
    blocks: list[Block] = [section(f"{title}{who}\n{when}. Did it happen?")]
    if check.answer is None:
        blocks.append(
            {
                "type": "actions",
                "block_id": f"meeting:{check.request_id}",
                "elements": [
                    button("Held", "meeting_held", check.value, "primary"),
                    button("No-show", "meeting_no_show", check.value, "danger"),
                    button("Rescheduled", "meeting_rescheduled", check.value),
                ],
            }
        )
    else:
        by = f" by <@{check.answered_by}>" if check.answered_by else ""
        blocks.append(context(f"{ANSWERED.get(check.answer, check.answer)}{by}"))
    return fallback, blocks
