"""The buttons under a reply's DM (bot.reply_hints): Use <zone> confirms where the prospect is,
Add <address> invites someone they copied. Both name rows, never the value itself, and both
redraw the message with what was done in place of the button."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any, Protocol

import structlog
from slack_bolt import Ack, App, Respond

from bot.reply_hints import ADD_COPIED, COPIED_BLOCK, HINT_BLOCK, USE_ZONE, hint_answered
from orchestrator.commands.copied_guests import add_copied
from orchestrator.commands.prospect_zones import use_prospect_zone
from orchestrator.deps import Deps
from orchestrator.outbox.approval_cards import refresh_card

log = structlog.get_logger(__name__)

Body = dict[str, Any]


class Done(Protocol):
    """What a click's command answers: whether it changed anything, and what to tell."""

    @property
    def ok(self) -> bool: ...

    @property
    def message(self) -> str: ...


def _parts(value: str) -> tuple[uuid.UUID, uuid.UUID, str] | None:
    """A button's value: two row ids and what the button chose (a zone, a position)."""
    first, second, chosen = (value.split("|", 2) + ["", ""])[:3]
    try:
        return uuid.UUID(first), uuid.UUID(second), chosen
    except ValueError:
        return None


def _ephemeral(respond: Respond, text: str) -> None:
    respond(text=text, replace_original=False, response_type="ephemeral")


def _redraw(deps: Deps, body: dict[str, Any], respond: Respond, block_id: str, note: str) -> None:
    message = body.get("message") or {}
    container = body.get("container") or {}
    try:
        deps.chat.update_message(
            channel=container.get("channel_id") or body["channel"]["id"],
            ts=container["message_ts"],
            text=message.get("text") or note,
            blocks=hint_answered(message.get("blocks") or [], block_id, note),
        )
    except Exception as exc:  # noqa: BLE001 - the change is made; the message is cosmetic
        log.warning("hint_message_update_failed", error=repr(exc))
        _ephemeral(respond, note)


def _listener(
    deps: Deps, block_id: str, apply: Callable[[Body, uuid.UUID, uuid.UUID, str], Done]
) -> Callable[..., None]:
    def on_click(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        parsed = _parts(action.get("value", ""))
        if parsed is None:
            _ephemeral(respond, "That button is broken; nothing was changed.")
            return
        outcome = apply(body, *parsed)
        if not outcome.ok:
            _ephemeral(respond, outcome.message)
            return
        _redraw(deps, body, respond, block_id, outcome.message)

    return on_click


def register(app: App, deps: Deps) -> None:
    def use_zone(
        body: dict[str, Any], request_id: uuid.UUID, attendee_id: uuid.UUID, zone: str
    ) -> Any:
        return use_prospect_zone(
            deps,
            org_id=body["team"]["id"],
            request_id=request_id,
            attendee_id=attendee_id,
            zone=zone,
            slack_user_id=body["user"]["id"],
        )

    def add(body: dict[str, Any], request_id: uuid.UUID, email_id: uuid.UUID, index: str) -> Any:
        outcome = add_copied(
            deps,
            org_id=body["team"]["id"],
            request_id=request_id,
            email_message_id=email_id,
            index=int(index) if index.lstrip("-").isdigit() else -1,
            slack_user_id=body["user"]["id"],
        )
        for action_id in outcome.amended:
            refresh_card(deps, action_id)
        return outcome

    app.action(USE_ZONE)(_listener(deps, HINT_BLOCK, use_zone))
    app.action(re.compile(rf"^{ADD_COPIED}_\d+$"))(_listener(deps, COPIED_BLOCK, add))
