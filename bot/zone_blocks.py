"""The line under a reply's DM that offers the prospect's zone the reply suggests."""

from __future__ import annotations

from bot.blocks import Block, button, context, section
from orchestrator.mrkdwn import escape_mrkdwn as escape
from orchestrator.views import Card, ZoneHintView, zone_label

USE_ZONE = "use_prospect_zone"
HINT_BLOCK = "zone_hint"


def with_zone_hint(card: Card, view: ZoneHintView) -> Card:
    text, blocks = card
    shown: list[Block] = list(blocks) or [section(text)]
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


def zone_set_blocks(blocks: list[Block], note: str) -> list[Block]:
    """The message after the click: the button gives way to what was set."""
    kept = [b for b in blocks if b.get("block_id") != HINT_BLOCK]
    return [*kept, context(note)]
