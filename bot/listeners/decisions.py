"""Buttons on decision cards (and on the card confirming someone a reply named): ack, apply
the choice once, then redraw the card with it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import structlog
from slack_bolt import Ack, App, Respond

from bot.decision_blocks import SLOT_ACTION, choice_action_id, decided_card
from orchestrator.commands.decision_cards import confirm_recipient, resolve
from orchestrator.deps import Deps
from orchestrator.views import LABELS, RECIPIENT_LABELS

log = structlog.get_logger(__name__)


def _selected_slot(body: dict[str, Any]) -> datetime | None:
    """The time picked in the card's radio buttons before the click (Slack sends the state)."""
    values = (body.get("state") or {}).get("values") or {}
    for block in values.values():
        chosen = (block.get(SLOT_ACTION) or {}).get("selected_option")
        if chosen:
            try:
                return datetime.fromisoformat(chosen["value"])
            except (KeyError, ValueError):
                return None
    return None


def _ephemeral(respond: Respond, text: str) -> None:
    respond(text=text, replace_original=False, response_type="ephemeral")


def _decided(
    deps: Deps, body: dict[str, Any], respond: Respond, *, label: str, outcome: str
) -> None:
    """Redraw the card with what was chosen in place of its buttons."""
    user = body["user"]["id"]
    message = body.get("message") or {}
    container = body.get("container") or {}
    note = f":white_check_mark: <@{user}> chose *{label}*. {outcome}"
    try:
        deps.chat.update_message(
            channel=container.get("channel_id") or body["channel"]["id"],
            ts=container["message_ts"],
            text=note,
            blocks=decided_card(message.get("blocks") or [], note),
        )
    except Exception as exc:  # noqa: BLE001 - the choice is applied; the card is cosmetic
        log.warning("decision_card_update_failed", error=repr(exc))
        _ephemeral(respond, note)


def _target(respond: Respond, action: dict[str, Any]) -> tuple[uuid.UUID, str] | None:
    raw_id, _, choice = action["value"].partition("|")
    try:
        return uuid.UUID(raw_id), choice
    except ValueError:
        _ephemeral(respond, "That button is broken; run `/schedule status` for a fresh view.")
        return None


def register(app: App, deps: Deps) -> None:
    def on_choice(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        target = _target(respond, action)
        if target is None:
            return
        request_id, choice = target
        outcome = resolve(
            deps,
            request_id=request_id,
            choice=choice,
            slack_user_id=body["user"]["id"],
            slot=_selected_slot(body),
        )
        if not outcome.ok:
            _ephemeral(respond, outcome.message)
            return
        _decided(deps, body, respond, label=LABELS[choice], outcome=outcome.message)

    def on_recipient(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond
    ) -> None:
        ack()
        target = _target(respond, action)
        if target is None:
            return
        job_id, choice = target
        outcome = confirm_recipient(
            deps, job_id=job_id, choice=choice, slack_user_id=body["user"]["id"]
        )
        if not outcome.ok:
            _ephemeral(respond, outcome.message)
            return
        _decided(deps, body, respond, label=RECIPIENT_LABELS[choice], outcome=outcome.message)

    for choice in LABELS:
        app.action(choice_action_id(choice))(on_choice)
    for choice in RECIPIENT_LABELS:
        app.action(choice_action_id(choice))(on_recipient)

    @app.action(SLOT_ACTION)
    def on_slot_picked(ack: Ack) -> None:
        # Picking a time only changes the card's state; the Book button reads it.
        ack()
