"""Block Kit for lists, request status and confirmations. Pure functions of plain rows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.blocks import Block, button, context, escape, section
from db.models import SchedulingAction, SchedulingAttendee, SchedulingRequest
from orchestrator.dashboard import Dashboard, Row

STATUS_LABELS = {
    "initiated": "Starting",
    "proposing": "Finding times",
    "awaiting_response": "Waiting for their reply",
    "negotiating": "Negotiating",
    "confirming": "Confirming",
    "confirmed": "Confirmed",
    "reminder_sent": "Reminder sent",
    "completed": "Completed",
    "no_show": "No-show",
    "paused": "Paused",
    "cancelled": "Cancelled",
}
LIST_LIMIT = 20  # keeps the message well under Slack's 50 blocks


def local(moment: datetime | None, tz: str) -> str:
    if moment is None:
        return "—"
    return moment.astimezone(ZoneInfo(tz)).strftime("%a %b %d, %H:%M %Z")


def line(row: Row, tz: str) -> str:
    """One request on one line: ref, title, status, meeting time, what happens next."""
    label = STATUS_LABELS.get(row.status, row.status)
    when = f" · meeting {local(row.meeting_start, tz)}" if row.meeting_start else ""
    nxt = ""
    if row.next_action and row.next_action_at:
        nxt = f" · next: {row.next_action.replace('_', ' ')} {local(row.next_action_at, tz)}"
    return f"*{escape(row.ref)}* · {escape(row.title)} · _{label}_{when}{nxt}"


def request_list(requests: Sequence[Row], tz: str) -> tuple[str, list[Block]]:
    if not requests:
        text = "You have no open requests. Start one with `/schedule demo with name@company.com`."
        return text, [section(text)]
    shown = requests[:LIST_LIMIT]
    blocks = [section(f"*Your requests* ({len(requests)})")]
    blocks += [section(line(r, tz)) for r in shown]
    if len(requests) > LIST_LIMIT:
        blocks.append(context(f"…and {len(requests) - LIST_LIMIT} more (see the Home tab)."))
    return f"{len(requests)} requests", blocks


def request_status(
    request: SchedulingRequest,
    attendees: Sequence[SchedulingAttendee],
    activity: Sequence[SchedulingAction],
    tz: str,
) -> tuple[str, list[Block]]:
    people = ", ".join(
        f"{escape(a.email)} ({a.side}{'' if a.required else ', optional'}: {a.invite_status})"
        for a in attendees
    )
    slots = "\n".join(
        f"• {local(datetime.fromisoformat(s['start']), tz)}" for s in request.proposed_slots
    )
    blocks: list[Block] = [
        section(line(Row.of(request), tz)),
        section(f"*Who:* {people}"),
    ]
    if slots:
        blocks.append(section(f"*Times offered:*\n{slots}"))
    if activity:
        trail = " → ".join(a.action_type.replace("_", " ") for a in activity)
        blocks.append(context(f"Recent: {trail}"))
    return f"{request.ref}: {STATUS_LABELS.get(request.status, request.status)}", blocks


def cancel_prompt(request: SchedulingRequest) -> tuple[str, list[Block]]:
    text = f"Cancel *{escape(request.ref)}* ({escape(request.title)})? Open drafts are dropped."
    actions: dict[str, Any] = {
        "type": "actions",
        "block_id": f"cancel:{request.ref}",
        "elements": [
            button(f"Cancel {request.ref}", "cancel_request", request.ref, "danger"),
            button("Keep it", "keep_request", request.ref),
        ],
    }
    return f"Cancel {request.ref}?", [section(text), actions]


HOME_ROWS_PER_GROUP = 15  # 4 groups × 15 rows + headers stays under the Home tab's 100 blocks


def home_view(board: Dashboard) -> dict[str, Any]:
    blocks: list[Block] = [section("*Convene* — your scheduling at a glance")]
    if not board.known:
        blocks.append(
            section("Nothing here yet. Start with `/schedule demo with name@company.com`.")
        )
        return {"type": "home", "blocks": blocks}
    if board.drafts_waiting:
        blocks.append(
            section(
                f":inbox_tray: *{board.drafts_waiting}* draft(s) waiting for your "
                "approval in your DMs."
            )
        )
    groups = [
        ("Needs your attention", board.needs_attention),
        ("Waiting on the prospect", board.pending_confirmation),
        ("Confirmed & upcoming", board.upcoming),
        ("Completed this week", board.completed_this_week),
    ]
    for title, rows in groups:
        blocks.append(
            {"type": "header", "text": {"type": "plain_text", "text": f"{title} ({len(rows)})"}}
        )
        if not rows:
            blocks.append(context("Nothing here."))
        for row in rows[:HOME_ROWS_PER_GROUP]:
            blocks.append(section(line(row, board.timezone)))
        if len(rows) > HOME_ROWS_PER_GROUP:
            blocks.append(context(f"…and {len(rows) - HOME_ROWS_PER_GROUP} more: `/schedule list`"))
    return {"type": "home", "blocks": blocks}
