"""Block Kit, built by pure functions from plain data. Untrusted text is escaped here."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from orchestrator.mrkdwn import escape_mrkdwn as escape
from orchestrator.views import ACTION_TITLES, ActionView

Block = dict[str, Any]

SECTION_LIMIT = 3000
PREVIEW_CHARS = 1200
SHOW_FULL_EMAIL = "show_full_email"
REDRAFT = "redraft_action"


def section(text: str) -> Block:
    if len(text) > SECTION_LIMIT:
        text = text[: SECTION_LIMIT - 1] + "…"
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text[:SECTION_LIMIT]}]}


def button(text: str, action_id: str, value: str, style: str | None = None) -> Block:
    button: Block = {
        "type": "button",
        "text": {"type": "plain_text", "text": text},
        "action_id": action_id,
        "value": value,
    }
    if style:
        button["style"] = style
    return button


def _quote(body: str) -> str:
    preview = body if len(body) <= PREVIEW_CHARS else body[:PREVIEW_CHARS] + "…"
    return "\n".join("> " + line for line in escape(preview).splitlines())


# "Send later" choices; the times are worked out in the rep's zone when picked.
SEND_LATER = {"in_1h": "In 1 hour", "tomorrow_9": "Tomorrow 9:00", "monday_9": "Monday 9:00"}


def send_later_time(choice: str, *, now: datetime, tz: str) -> datetime:
    """When a "Send later" choice means, in the rep's zone."""
    if choice == "in_1h":
        return now + timedelta(hours=1)
    local = now.astimezone(ZoneInfo(tz))
    days = 1 if choice == "tomorrow_9" else (7 - local.weekday()) or 7
    if choice not in SEND_LATER:
        raise ValueError(f"unknown send-later choice {choice!r}")
    target = (local + timedelta(days=days)).date()
    return datetime.combine(target, time(9, 0), ZoneInfo(tz))


def approval_card(view: ActionView) -> tuple[str, list[Block]]:
    """The approval card for one pending action, in whatever state the action is in."""
    title = ACTION_TITLES.get(view.action_type, view.action_type.replace("_", " ").capitalize())
    ref = f"*{escape(view.request_ref)}* · " if view.request_ref else ""
    recipients = escape(", ".join(view.to))
    # Notifications render the fallback text too, so it is escaped like the blocks.
    fallback = f"{title} to {recipients} needs your approval"
    preview = f"*Subject:* {escape(view.subject)}\n{_quote(view.body)}"
    blocks: list[Block] = [section(f"{ref}{title} to *{recipients}*"), section(preview)]
    if len(view.body) > PREVIEW_CHARS or len(preview) > SECTION_LIMIT:
        # The preview is cut; the whole email is one click away, in a modal.
        blocks[-1]["accessory"] = button("Show full email", SHOW_FULL_EMAIL, view.action_id)
    if view.reasoning:
        confidence = f" · confidence {view.confidence:.0%}" if view.confidence is not None else ""
        blocks.append(context(f"Why: {escape(view.reasoning)}{confidence}"))
    if view.offered_as_edited is not None:
        blocks.append(context(_read_from_edit(view.offered_as_edited, view.rep_timezone)))
    blocks.extend(_stale_blocks(view) or [_state_block(view)])
    return fallback, blocks


def _read_from_edit(times: tuple[datetime, ...], tz: str) -> str:
    """What Convene read from the rep's edit: the times the prospect will be offered, so a
    misreading shows before anything is sent."""
    if not times:
        return (
            ":mag: As edited, the email offers no time; "
            "the prospect's answer will be read without a list to pick from."
        )
    shown = "; ".join(_slot_time(t, tz) for t in times)
    return f":mag: As edited, the email offers (your time): {shown}"


def _slot_time(moment: datetime, tz: str) -> str:
    local = moment.astimezone(ZoneInfo(tz))
    hour = local.hour % 12 or 12
    return f"{local:%a %b} {local.day}, {hour}:{local:%M} {local:%p} {local.tzname()}"


def _stale_blocks(view: ActionView) -> list[Block]:
    """A draft refused as stale (`error` on a pending one) or expired: why, and what is left
    to press: a redraft where one fits, a reject for a stale draft, never Approve."""
    if view.status == "pending" and view.error:
        head = section(f":warning: *Can't go out as drafted:* {escape(view.error)}")
        buttons = [button("Reject", "reject_action", view.action_id, "danger")]
    elif view.status == "expired":
        why = f": {escape(view.error)}" if view.error else ""
        head = context(f":hourglass_flowing_sand: Expired{why}. Nothing was sent.")
        buttons = []
    else:
        return []
    if view.redrafted:
        return [head, context(":arrows_counterclockwise: Redrafted with fresh times.")]
    if view.can_redraft:
        redraft = button("Redraft with fresh times", REDRAFT, view.action_id, "primary")
        buttons.insert(0, redraft)
    if not buttons:
        return [head]
    return [head, {"type": "actions", "block_id": f"stale:{view.action_id}", "elements": buttons}]


def _state_block(view: ActionView) -> Block:
    if view.status == "pending":
        return {
            "type": "actions",
            "block_id": f"decide:{view.action_id}",
            "elements": [
                button("Approve & send", "approve_action", view.action_id, "primary"),
                button("Edit", "edit_action", view.action_id),
                button("Reject", "reject_action", view.action_id, "danger"),
                {
                    "type": "static_select",
                    "action_id": "send_later",
                    "placeholder": {"type": "plain_text", "text": "Send later"},
                    "options": [
                        {"text": {"type": "plain_text", "text": label}, "value": value}
                        for value, label in SEND_LATER.items()
                    ],
                },
            ],
        }
    if view.status == "failed":
        failed = section(f":x: Failed: {escape(view.error or 'unknown error')}")
        return {
            **failed,
            "block_id": f"failed:{view.action_id}",
            "accessory": button("Retry", "retry_action", view.action_id),
        }
    if view.status == "approved" and view.undo_until is not None:
        at = _local_time(view.undo_until, view.rep_timezone)
        return {
            "type": "section",
            "block_id": f"undo:{view.action_id}",
            "text": {
                "type": "mrkdwn",
                "text": f":hourglass: Sending at {at} — you can still undo.",
            },
            "accessory": button("Undo", "undo_action", view.action_id),
        }
    by = f" by <@{view.decided_by}>" if view.decided_by else ""
    outcomes = {
        "executing": ":outbox_tray: Sending…",
        "executed": ":white_check_mark: Sent"
        + (f" {_local_time(view.executed_at, view.rep_timezone)}" if view.executed_at else ""),
        "rejected": f":no_entry_sign: Rejected{by}",
        "cancelled": f":leftwards_arrow_with_hook: Cancelled{by}",
        "expired": ":hourglass_flowing_sand: Expired",
        "superseded": ":twisted_rightwards_arrows: Replaced by a newer reply; nothing was sent",
    }
    return context(outcomes.get(view.status, view.status))


def _local_time(moment: Any, tz: str) -> str:
    return str(moment.astimezone(ZoneInfo(tz)).strftime("%H:%M %Z"))
