"""Lines under a reply's DM that offer what the reply suggests, one click each: the prospect's
zone (skills.zone_hint) and people they copied (orchestrator.copied)."""

from __future__ import annotations

from collections.abc import Sequence

from bot.blocks import Block, button, context, section
from orchestrator.mrkdwn import escape_mrkdwn as escape
from orchestrator.views import Card, CopiedView, ZoneHintView, zone_label

USE_ZONE = "use_prospect_zone"
HINT_BLOCK = "zone_hint"
ADD_COPIED = "add_copied_guest"
COPIED_BLOCK = "copied_hint"


def _opened(card: Card) -> tuple[str, list[Block]]:
    text, blocks = card
    return text, list(blocks) or [section(text)]


def with_zone_hint(card: Card, view: ZoneHintView) -> Card:
    text, shown = _opened(card)
    label = zone_label(view.zone)
    note = (
        f":earth_africa: *{escape(view.who)}* may be in *{escape(label)}*: "
        f"{escape(view.evidence)}. Their times are read in {escape(zone_label(view.current))} "
        "until you say otherwise."
    )
    if view.weak:
        note += " A bare offset knows no daylight saving: their city is better, in the form."
    shown.append(context(note))
    value = f"{view.request_id}|{view.attendee_id}|{view.zone}"
    shown.append(
        {
            "type": "actions",
            "block_id": HINT_BLOCK,
            "elements": [button(f"Use {label}"[:75], USE_ZONE, value)],
        }
    )
    return text, shown


def with_copied(card: Card, views: Sequence[CopiedView]) -> Card:
    text, shown = _opened(card)
    if not views:
        return text, shown
    who = ", ".join(escape(v.address) for v in views)
    shown.append(
        context(
            f":busts_in_silhouette: They copied {who}. Nobody is invited from an email's "
            "headers alone: add them to the meeting if they should come."
        )
    )
    buttons = [
        button(
            f"Add {v.address}"[:75],
            f"{ADD_COPIED}_{v.index}",
            f"{v.request_id}|{v.email_message_id}|{v.index}",
        )
        for v in views
    ]
    shown.append({"type": "actions", "block_id": COPIED_BLOCK, "elements": buttons})
    return text, shown


def hint_answered(blocks: list[Block], block_id: str, note: str) -> list[Block]:
    """The message after a click: the hint's buttons give way to what was done."""
    kept = [b for b in blocks if b.get("block_id") != block_id]
    return [*kept, context(note)]
