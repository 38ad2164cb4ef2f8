"""Use <zone> under a reply's DM: the rep confirms where the prospect is."""

from __future__ import annotations

import uuid
from typing import Any

import structlog
from slack_bolt import Ack, App, Respond

from bot.reply_hints import HINT_BLOCK, USE_ZONE, hint_answered
from orchestrator.commands.prospect_zones import use_prospect_zone
from orchestrator.deps import Deps

log = structlog.get_logger(__name__)


def _parse(value: str) -> tuple[uuid.UUID, uuid.UUID, str] | None:
    request_id, attendee_id, zone = (value.split("|", 2) + ["", ""])[:3]
    try:
        return uuid.UUID(request_id), uuid.UUID(attendee_id), zone
    except ValueError:
        return None


def register(app: App, deps: Deps) -> None:
    @app.action(USE_ZONE)
    def on_use_zone(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond
    ) -> None:
        ack()
        parsed = _parse(action.get("value", ""))
        if parsed is None:
            respond(
                text="That button is broken; nothing was changed.",
                replace_original=False,
                response_type="ephemeral",
            )
            return
        request_id, attendee_id, zone = parsed
        outcome = use_prospect_zone(
            deps,
            org_id=body["team"]["id"],
            request_id=request_id,
            attendee_id=attendee_id,
            zone=zone,
            slack_user_id=body["user"]["id"],
        )
        if not outcome.ok:
            respond(text=outcome.message, replace_original=False, response_type="ephemeral")
            return
        message = body.get("message") or {}
        container = body.get("container") or {}
        try:
            deps.chat.update_message(
                channel=container.get("channel_id") or body["channel"]["id"],
                ts=container["message_ts"],
                text=message.get("text") or outcome.message,
                blocks=hint_answered(message.get("blocks") or [], HINT_BLOCK, outcome.message),
            )
        except Exception as exc:  # noqa: BLE001 - the zone is set; the message is cosmetic
            log.warning("zone_card_update_failed", error=repr(exc))
            respond(text=outcome.message, replace_original=False, response_type="ephemeral")
