"""Decision cards (seed 003): the situation, each attendee's reason, and the choices.

Pure functions from `DecisionView`; every piece of prospect text is escaped before it gets
here (the reply summary) or here (summary, reasons, names).
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from bot.blocks import Block, button, context, section
from orchestrator.mrkdwn import escape_mrkdwn as escape
from orchestrator.views import LABELS, RECIPIENT_LABELS, DecisionView, Option, Proposal

TITLES = {
    "get_alternatives": "They turned down our times twice",
    "reschedule": "Their alternatives are in: pick a time",
    "resolve_conflict": "No time suits everyone",
    "recommend_cancel": "Convene recommends closing this request",
    "unusual": "This reply needs you",
    "confirm_recipient": "They ask you to bring someone in",
    "reopen": "They replied on a paused request",
    "invite_declined": "They declined the meeting invite",
    "invite_tentative": "They might not come to the meeting",
    "stalled": "Nothing is moving this request",
}
SLOT_ACTION = "decision_slot"
MAX_OPTIONS = 10  # Slack's limit for radio buttons
OPTION_TEXT = 75  # Slack's limit for an option's plain text
MAX_REASONS = 8
MAX_DOMAINS = 5  # the prospect's domains the warning names
STYLES = {
    "book_slot": "primary",
    "offer_times": "primary",
    "reopen": "primary",
    "cancel_request": "danger",
}


def choice_action_id(choice: str) -> str:
    return f"decision_{choice}"


def option_label(option: Option, tz: str) -> str:
    local = option.slot.astimezone(ZoneInfo(tz))
    hour = local.hour % 12 or 12
    when = f"{local:%a %b} {local.day}, {hour}:{local:%M} {local:%p}"
    who = "everyone" if option.fits_all else ", ".join(option.attendees) or "nobody yet"
    text = f"{when} · {who}"
    return text if len(text) <= OPTION_TEXT else text[: OPTION_TEXT - 1] + "…"


def _slot_picker(view: DecisionView) -> Block:
    shown = view.options[:MAX_OPTIONS]
    options: list[Block] = [
        {
            "text": {"type": "plain_text", "text": option_label(o, view.rep_timezone)},
            "value": o.slot.isoformat(),
        }
        for o in shown
    ]
    picker: Block = {"type": "radio_buttons", "action_id": SLOT_ACTION, "options": options}
    # Preselect the first time that suits everyone: the likely answer, one click away.
    fitting = next((i for i, o in enumerate(shown) if o.fits_all), None)
    if fitting is not None:
        picker["initial_option"] = options[fitting]
    return picker


def recipient_blocks(proposal: Proposal, ref: str) -> list[Block]:
    """Who exactly would be added, and a warning when they are not at the prospect's domain:
    the address came from an email, so the rep sees it before anyone writes to it."""
    who = escape(proposal.address)
    if proposal.name:
        who = f"{escape(proposal.name)} · {who}"
    blocks: list[Block] = [
        section(
            f"*Add* {who} *to {escape(ref)}?*\n"
            "They become an attendee and get a note with fresh times, which waits for your "
            "approval. Nobody is added or written to unless you choose so."
        )
    ]
    if proposal.outside:
        domains = proposal.prospect_domains
        theirs = ", ".join(escape(d) for d in domains[:MAX_DOMAINS]) or "unknown"
        if len(domains) > MAX_DOMAINS:
            theirs += f" and {len(domains) - MAX_DOMAINS} more"
        blocks.append(
            section(
                f":warning: *Different domain:* {escape(proposal.domain)} is not the prospect's "
                f"({theirs}). Check that this person really belongs to them before you add them."
            )
        )
    return blocks


def _button(view: DecisionView, choice: str) -> Block:
    if view.recipient is not None:
        # The card names the reply's job; the address is read back from it, never sent.
        label, value = RECIPIENT_LABELS[choice], f"{view.recipient.job_id}|{choice}"
    else:
        label, value = LABELS[choice], f"{view.request_id}|{choice}"
    element = button(label, choice_action_id(choice), value)
    if style := STYLES.get(choice):
        element["style"] = style
    return element


def decision_card(view: DecisionView) -> tuple[str, list[Block]]:
    title = TITLES.get(view.subtype, "Convene needs your decision")
    head = f":raising_hand: *{escape(view.ref)}* · {escape(view.title)}\n*{title}*"
    blocks: list[Block] = [section(head), section(view.reply)]
    if view.recipient is not None:
        blocks.extend(recipient_blocks(view.recipient, view.ref))
    if view.summary:
        blocks.append(section(f"*Why:* {escape(view.summary)}"))
    if view.reasons:
        lines = [f"• {escape(r)}" for r in view.reasons[:MAX_REASONS]]
        if len(view.reasons) > MAX_REASONS:
            lines.append(f"…and {len(view.reasons) - MAX_REASONS} more")
        blocks.append(context("\n".join(lines)))
    elements: list[Block] = []
    choices = [c for c in view.choices if c != "book_slot" or view.options]
    if "book_slot" in choices:
        blocks.append(
            {
                "type": "actions",
                "block_id": "decision_slots",
                "elements": [_slot_picker(view)],
            }
        )
    for choice in choices:
        elements.append(_button(view, choice))
    blocks.append({"type": "actions", "block_id": "decision_choices", "elements": elements})
    return f"{view.ref}: {title}", blocks


def decided_card(blocks: list[dict[str, Any]], note: str) -> list[Block]:
    """The card after the decision: the same story, the buttons replaced by what was chosen."""
    kept = [b for b in blocks if b.get("type") != "actions"]
    return [*kept, context(note)]
