"""Add <address> under a reply's DM: the rep invites someone the prospect copied."""

from __future__ import annotations

import re
import uuid
from typing import Any

import structlog
from slack_bolt import Ack, App, Respond

from bot.reply_hints import ADD_COPIED, COPIED_BLOCK, hint_answered
from orchestrator.commands.copied_guests import add_copied
from orchestrator.deps import Deps
from orchestrator.outbox.approval_cards import refresh_card

log = structlog.get_logger(__name__)


def _parse(value: str) -> tuple[uuid.UUID, uuid.UUID, int] | None:
    request_id, email_id, index = (value.split("|", 2) + ["", ""])[:3]
    try:
        return uuid.UUID(request_id), uuid.UUID(email_id), int(index)
    except ValueError:
        return None


def register(app: App, deps: Deps) -> None:
    @app.action(re.compile(rf"^{ADD_COPIED}_\d+$"))
    def on_add(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        parsed = _parse(action.get("value", ""))
        if parsed is None:
            respond(
                text="That button is broken; nobody was added.",
                replace_original=False,
                response_type="ephemeral",
            )
            return
        request_id, email_id, index = parsed
        outcome = add_copied(
            deps,
            org_id=body["team"]["id"],
            request_id=request_id,
            email_message_id=email_id,
            index=index,
            slack_user_id=body["user"]["id"],
        )
        if not outcome.ok:
            respond(text=outcome.message, replace_original=False, response_type="ephemeral")
            return
        for action_id in outcome.amended:
            refresh_card(deps, action_id)
        message = body.get("message") or {}
        container = body.get("container") or {}
        try:
            deps.chat.update_message(
                channel=container.get("channel_id") or body["channel"]["id"],
                ts=container["message_ts"],
                text=message.get("text") or outcome.message,
                blocks=hint_answered(message.get("blocks") or [], COPIED_BLOCK, outcome.message),
            )
        except Exception as exc:  # noqa: BLE001 - the guest is added; the message is cosmetic
            log.warning("copied_card_update_failed", error=repr(exc))
            respond(text=outcome.message, replace_original=False, response_type="ephemeral")
