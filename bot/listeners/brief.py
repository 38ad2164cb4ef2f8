"""Buttons on the morning brief: they act on the item in place.

Each click is applied exactly as the item's own card would apply it (the same ownership check,
the same exactly-once rule; a refusal goes to the clicker alone), the item's own card is redrawn,
and then the brief itself: that item's buttons give way to its outcome, the rest stays as it was.
"""

from __future__ import annotations

from typing import Any

import structlog
from slack_bolt import Ack, App, Respond

from bot.brief_blocks import (
    DECISION_NOTE,
    DRAFT_BUTTONS,
    MEETING_BUTTONS,
    OPEN_DECISION,
    draft_note,
    meeting_note,
    settle_item,
)
from bot.listeners.cards import parse_id
from bot.listeners.meeting import apply_answer
from orchestrator.deps import Deps
from orchestrator.outbox.approval_cards import load_view, refresh_card
from orchestrator.outbox.decisions import decide
from orchestrator.steps.brief import repost_decision_card

log = structlog.get_logger(__name__)

BROKEN = "That button is broken; the brief is out of date. `/schedule status` has the latest."


def _ephemeral(respond: Respond, text: str) -> None:
    respond(text=text, replace_original=False, response_type="ephemeral")


def _settle(
    deps: Deps, body: dict[str, Any], action: dict[str, Any], note: str, respond: Respond
) -> None:
    """Redraw the clicked brief with the item's outcome in place of its buttons."""
    message = body.get("message") or {}
    container = body.get("container") or {}
    blocks = settle_item(
        message.get("blocks") or [],
        action_id=action["action_id"],
        value=action.get("value", ""),
        note=note,
    )
    channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
    ts = container.get("message_ts") or message.get("ts")
    if blocks is None or not (channel and ts):
        _ephemeral(respond, note)
        return
    try:
        deps.chat.update_message(
            channel=channel, ts=ts, text=message.get("text") or note, blocks=blocks
        )
    except Exception as exc:  # noqa: BLE001 - the click is applied; the brief is cosmetic
        log.warning("brief_update_failed", error=repr(exc))
        _ephemeral(respond, note)


def register(app: App, deps: Deps) -> None:
    def on_draft(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        action_id = parse_id(action.get("value", ""))
        if action_id is None:
            _ephemeral(respond, BROKEN)
            return
        decision = DRAFT_BUTTONS[action["action_id"]]
        outcome = decide(
            deps, action_id=action_id, decision=decision, slack_user_id=body["user"]["id"]
        )
        if not outcome.ok:
            _ephemeral(respond, outcome.message)
            return
        refresh_card(deps, action_id)
        view = load_view(deps, action_id)
        if view is not None:
            _settle(deps, body, action, draft_note(decision, view), respond)

    for name in DRAFT_BUTTONS:
        app.action(name)(on_draft)

    def on_meeting(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond
    ) -> None:
        ack()
        answer = MEETING_BUTTONS[action["action_id"]]
        value = action.get("value", "")
        if apply_answer(deps, body=body, value=value, answer=answer, respond=respond):
            _settle(deps, body, action, meeting_note(answer), respond)

    for name in MEETING_BUTTONS:
        app.action(name)(on_meeting)

    @app.action(OPEN_DECISION)
    def on_open_decision(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond
    ) -> None:
        ack()
        request_id = parse_id(action.get("value", ""))
        if request_id is None:
            _ephemeral(respond, BROKEN)
            return
        outcome = repost_decision_card(
            deps,
            org_id=body["team"]["id"],
            request_id=request_id,
            slack_user_id=body["user"]["id"],
        )
        if not outcome.ok:
            _ephemeral(respond, outcome.message)
            return
        _settle(deps, body, action, DECISION_NOTE, respond)
