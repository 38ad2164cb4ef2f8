"""The read-only "Show full email" modal: the whole draft the card could only preview."""

from __future__ import annotations

from typing import Any

from bot.blocks import SECTION_LIMIT, Block, context, section
from orchestrator.mrkdwn import escape_mrkdwn as escape
from orchestrator.views import ActionView

FULL_EMAIL_CALLBACK = "full_email"
MAX_MODAL_BLOCKS = 100
# Headers, the divider and the note on a cut body take the rest of the modal's blocks.
MAX_BODY_SECTIONS = MAX_MODAL_BLOCKS - 3
# The longest escape: `&` becomes `&amp;`; a cut must not land inside one.
_ENTITY_CHARS = len("&amp;")


def _hard_split(text: str, limit: int) -> list[str]:
    """Escaped text in pieces of at most `limit` characters, never cutting an entity."""
    pieces = []
    while len(text) > limit:
        cut = limit
        amp = text.rfind("&", cut - _ENTITY_CHARS + 1, cut)
        if amp != -1 and ";" not in text[amp:cut]:
            cut = amp
        pieces.append(text[:cut])
        text = text[cut:]
    return [*pieces, text]


def body_sections(body: str, *, limit: int = SECTION_LIMIT) -> list[str]:
    """The body escaped for mrkdwn, in pieces of at most `limit` characters, broken between
    lines where a line fits and inside a line only when it alone is too long."""
    pieces: list[str] = []
    current: list[str] = []
    size = 0
    for line in body.split("\n"):
        escaped = escape(line)
        if current and size + 1 + len(escaped) > limit:
            pieces.append("\n".join(current))
            current, size = [], 0
        if len(escaped) > limit:
            *whole, escaped = _hard_split(escaped, limit)
            pieces += whole
        size = size + 1 + len(escaped) if current else len(escaped)
        current.append(escaped)
    pieces.append("\n".join(current))
    # Slack refuses an empty section; blank runs at a break show nothing anyway.
    return [p.strip("\n") for p in pieces if p.strip()]


def full_email_view(view: ActionView) -> dict[str, Any]:
    """To, Cc and Subject, then the whole body (the rep's edit, if any) across sections."""
    headers = [f"*To:* {escape(', '.join(view.to))}"]
    if view.cc:
        headers.append(f"*Cc:* {escape(', '.join(view.cc))}")
    headers.append(f"*Subject:* {escape(view.subject)}")
    blocks: list[Block] = [section("\n".join(headers)), {"type": "divider"}]
    pieces = body_sections(view.body) or ["_(empty)_"]
    blocks += [section(piece) for piece in pieces[:MAX_BODY_SECTIONS]]
    if len(pieces) > MAX_BODY_SECTIONS:
        blocks.append(
            context(
                f":scissors: Too long to show in full here: the first {MAX_BODY_SECTIONS} of "
                f"{len(pieces)} parts are shown. The email itself is not cut."
            )
        )
    return {
        "type": "modal",
        "callback_id": FULL_EMAIL_CALLBACK,
        "private_metadata": view.action_id,
        "title": {"type": "plain_text", "text": "Full email"},
        "close": {"type": "plain_text", "text": "Close"},
        "blocks": blocks,
    }
