"""Block Kit for lists, request status and confirmations. Pure functions of plain rows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.blocks import Block, button, context, escape, section
from bot.stats_blocks import HOME_STATS_BLOCKS, home_stats
from db.models import SchedulingAction, SchedulingAttendee, SchedulingRequest
from orchestrator.negotiation import offered_starts
from orchestrator.views import ACTION_TITLES, Dashboard, LastAction, Row
from skills.rep_note import NoteRules

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
    slots = "\n".join(f"• {local(start, tz)}" for start in offered_starts(request))
    blocks: list[Block] = [
        section(line(Row.of(request), tz)),
        section(f"*Who:* {people}"),
    ]
    if slots:
        blocks.append(section(f"*Times offered:*\n{slots}"))
    if rules := NoteRules(tuple(request.avoid_days), tuple(request.preferred_times)):
        # From the form, or from a note on a rejected draft (skills/rep_note.py).
        blocks.append(context(f"Offering times {escape(rules.describe())}."))
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


# What the audit log's kinds mean to the rep; "{draft}" is the draft an action_* row concerned.
LAST_LABELS = {
    "request_created": "request created",
    "slots_found": "found times that suit your side",
    "calendars_unreadable": "some calendars couldn't be read",
    "draft_created": "drafted an email for your approval",
    "draft_rejected_by_checks": "a draft failed the safety checks",
    "email_sent": "sent the first scheduling email",
    "follow_up_sent": "sent a follow-up",
    "follow_up_skipped": "skipped a follow-up",
    "follow_up_not_sent": "a follow-up wasn't sent",
    "follow_ups_stopped": "stopped following up",
    "reply_received": "they replied",
    "auto_reply": "got an auto-reply",
    "invite_response": "they answered the invite",
    "email_bounced": "an email bounced",
    "reply_on_finished_request": "they wrote after it closed",
    "internal_reply": "a teammate replied",
    "event_state_changed": "reassessed where things stand",
    "decision_made": "you decided what to do next",
    "times_chosen": "you picked the times",
    "counter_proposal_sent": "offered fresh times",
    "answer_sent": "answered their question",
    "delegate_contacted": "wrote to the person they named",
    "clarification_sent": "asked which time they meant",
    "meeting_booked": "meeting booked",
    "meeting_moved": "meeting moved",
    "confirmation_sent": "sent the confirmation",
    "reminder_sent": "sent the meeting-day reminder",
    "reminder_skipped": "skipped the reminder",
    "reminder_not_sent": "the reminder wasn't sent",
    "meeting_check_asked": "asked you whether the meeting happened",
    "meeting_held": "meeting held",
    "no_show_detected": "marked a no-show",
    "meeting_rescheduled": "marked for rescheduling",
    "rescheduling_started": "started rescheduling",
    "recovery_not_sent": "the recovery email wasn't sent",
    "request_paused": "paused",
    "request_resumed": "resumed",
    "request_cancelled": "cancelled",
    "rep_note_applied": "took your note on which times to offer",
    "action_approve": "approved: {draft}",
    "action_reject": "rejected: {draft}",
    "action_edit": "edited: {draft}",
    "action_undo": "undid the send: {draft}",
    "action_retry": "retrying: {draft}",
    "action_executed": "done: {draft}",
    "action_failed": "failed: {draft}",
    "action_expired": "expired unanswered: {draft}",
}


def last_label(last: LastAction) -> str:
    """The rep's words for an audit row's kind (the kind itself, readable, when it is new),
    lower case like the "next:" beside it."""
    kind = last.draft_type or ""
    draft = ACTION_TITLES.get(kind, kind.replace("_", " ") or "a draft")
    label = LAST_LABELS.get(last.kind, last.kind.replace("_", " "))
    return label.format(draft=draft[:1].lower() + draft[1:])


# One row is a section and its buttons. Besides rows the view has a title, the drafts banner,
# per group a header and one "Nothing here" or "…and N more" line, and the figures at the end.
HOME_MAX_BLOCKS = 100
HOME_GROUPS = 4
BLOCKS_PER_ROW = 2
HOME_FIXED_BLOCKS = 2 + 2 * HOME_GROUPS + HOME_STATS_BLOCKS
HOME_ROWS_PER_GROUP = (HOME_MAX_BLOCKS - HOME_FIXED_BLOCKS) // (HOME_GROUPS * BLOCKS_PER_ROW)
HOME_BLOCK = "home:"  # + the request's ref: one actions block per row, so action ids repeat


def home_row(row: Row, tz: str) -> list[Block]:
    """A request on the Home tab: what it is, what happened last and next, and its buttons."""
    text = line(row, tz)
    if row.last is not None:
        text += f"\nlast: {last_label(row.last)} ({local(row.last.at, tz)})"
    if row.drafts_waiting:
        plural = "s" if row.drafts_waiting != 1 else ""
        text += f"\n:inbox_tray: {row.drafts_waiting} draft{plural} waiting for your approval"
    elements = [button("Status", "home_status", row.ref)]
    if row.drafts_waiting:
        elements.append(button("Review", "home_review", row.ref, "primary"))
    if row.status == "paused":
        elements.append(button("Resume", "home_resume", row.ref))
    elif row.status not in ("completed", "cancelled"):
        elements.append(button("Pause", "home_pause", row.ref))
    return [
        section(text),
        {"type": "actions", "block_id": HOME_BLOCK + row.ref, "elements": elements},
    ]


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
            blocks += home_row(row, board.timezone)
        if len(rows) > HOME_ROWS_PER_GROUP:
            blocks.append(context(f"…and {len(rows) - HOME_ROWS_PER_GROUP} more: `/schedule list`"))
    if board.stats is not None:
        blocks += home_stats(board.stats)
    return {"type": "home", "blocks": blocks}


MODAL_TITLE = 24  # characters Slack allows in a modal's title


def status_modal(ref: str, blocks: list[Block]) -> dict[str, Any]:
    """`request_status`'s blocks as a modal, for the Home tab's Status button."""
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": f"Status of {ref}"[:MODAL_TITLE]},
        "close": {"type": "plain_text", "text": "Close"},
        "blocks": blocks,
    }
