"""The batch review card (seed 002 Pattern 3): the rep's waiting drafts in one message, each with
Approve and Skip, plus Approve all. Pure functions of `ActionView`s; untrusted text is escaped.

The card carries its own membership: each listed draft's section has a `batch_item:<id>` block
id, so a click redraws exactly the drafts the rep saw (Skip drops one) without storing the batch.
Action ids are unique in the whole message (`batch_approve:3`), as Slack requires per block.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

from bot.blocks import Block, button, context, escape, section
from orchestrator.views import ACTION_TITLES, ActionView

# Two blocks per draft: 15 of them plus the header and footer stay well under Slack's 50.
MAX_ITEMS = 15
ITEM = "batch_item:"
MORE = "batch_more:"
SUBJECT_CHARS = 150
RECIPIENT_CHARS = 200
TITLES = {
    **ACTION_TITLES,
    "calendar_book": "Calendar invite",
    "calendar_update": "Calendar update",
    "calendar_cancel": "Calendar cancellation",
}


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _describe(view: ActionView) -> str:
    title = TITLES.get(view.action_type, view.action_type.replace("_", " ").capitalize())
    to = _clip(", ".join(view.to) or "the prospect", RECIPIENT_CHARS)
    subject = _clip(view.subject, SUBJECT_CHARS) or "(no subject)"
    return f"*{escape(view.request_ref)}* · {title} to *{escape(to)}*\n_{escape(subject)}_"


def _outcome(view: ActionView) -> str:
    by = f" by <@{view.decided_by}>" if view.decided_by else ""
    if view.status == "approved" and view.undo_until is not None:
        at = view.undo_until.astimezone(ZoneInfo(view.rep_timezone)).strftime("%H:%M %Z")
        return f":hourglass: Approved{by}; sending at {at} (Undo is on its card)"
    outcomes = {
        "executing": ":outbox_tray: Sending…",
        "executed": ":white_check_mark: Sent",
        "rejected": f":no_entry_sign: Rejected{by}",
        "cancelled": f":leftwards_arrow_with_hook: Cancelled{by}",
        "expired": ":hourglass_flowing_sand: Expired",
        "superseded": ":twisted_rightwards_arrows: Replaced by a newer reply",
        "failed": ":x: Failed; Retry is on its card",
    }
    return outcomes.get(view.status, view.status)


def batch_card(
    views: Sequence[ActionView], *, more: int = 0, note: str = ""
) -> tuple[str, list[Block]]:
    """(fallback text, blocks) listing `views` in order; `more` drafts didn't fit."""
    waiting = sum(1 for v in views if v.status == "pending")
    if waiting:
        headline = f"{waiting} draft{'s' if waiting != 1 else ''} waiting for your approval"
    else:
        headline = "Nothing left to review here"
    blocks: list[Block] = [section(f":inbox_tray: *{headline}*")]
    for n, view in enumerate(views):
        item = section(_describe(view))
        if view.status != "pending":
            item = section(f"{_describe(view)}\n{_outcome(view)}")
        blocks.append({**item, "block_id": f"{ITEM}{view.action_id}"})
        if view.status == "pending":
            blocks.append(
                {
                    "type": "actions",
                    "block_id": f"batch_do:{view.action_id}",
                    "elements": [
                        button("Approve", f"batch_approve:{n}", view.action_id, "primary"),
                        button("Skip", f"batch_skip:{n}", view.action_id),
                    ],
                }
            )
    if more:
        blocks.append(
            {
                **context(f"…and {more} more; approve these, then `/schedule review` again."),
                "block_id": f"{MORE}{more}",
            }
        )
    if waiting:
        blocks.append(
            {
                "type": "actions",
                "block_id": "batch_all",
                "elements": [button("Approve all", "batch_approve_all", "all", "primary")],
            }
        )
    if note:
        blocks.append(context(note))
    return headline, blocks


def batch_members(blocks: Sequence[dict[str, Any]]) -> tuple[list[str], int]:
    """(draft ids in the order shown, how many more didn't fit) from a posted batch card."""
    ids: list[str] = []
    more = 0
    for block in blocks:
        block_id = str(block.get("block_id", ""))
        if block_id.startswith(ITEM):
            ids.append(block_id.removeprefix(ITEM))
        elif block_id.startswith(MORE) and block_id.removeprefix(MORE).isdigit():
            more = int(block_id.removeprefix(MORE))
    return ids, more


def approve_all_note(approved: int, already: int, refused: int) -> str:
    """What Approve all did, in the rep's words."""
    note = (
        f":white_check_mark: Approved {approved}; "
        f"{already} {'was' if already == 1 else 'were'} already handled"
    )
    if refused:
        note += f"; {refused} {'isn' if refused == 1 else 'aren'}'t yours to decide"
    return note + "."
