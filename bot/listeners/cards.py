"""Buttons on cards: approve / reject / undo a draft, confirm or keep a cancellation."""

from __future__ import annotations

import uuid
from typing import Any

from slack_bolt import Ack, App, Respond

from orchestrator import requests
from orchestrator.bootstrap import Deps
from orchestrator.cards import refresh_card
from orchestrator.outbox import decide

DECISIONS = {"approve_action": "approve", "reject_action": "reject", "undo_action": "undo"}


def register(app: App, deps: Deps) -> None:
    def on_decision(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond
    ) -> None:
        ack()
        try:
            action_id = uuid.UUID(action["value"])
        except ValueError:
            respond(
                text="That button is broken; ask for a fresh card.",
                replace_original=False,
                response_type="ephemeral",
            )
            return
        outcome = decide(
            deps,
            action_id=action_id,
            decision=DECISIONS[action["action_id"]],
            slack_user_id=body["user"]["id"],
        )
        if not outcome.ok:
            # The card already shows the winning decision; only the clicker needs telling.
            respond(text=outcome.message, replace_original=False, response_type="ephemeral")
        elif outcome.action is not None:
            refresh_card(deps, outcome.action.id)

    for action_id in DECISIONS:
        app.action(action_id)(on_decision)

    @app.action("cancel_request")
    def cancel_request(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond
    ) -> None:
        ack()
        outcome = requests.cancel(
            deps, org_id=body["team"]["id"], ref=action["value"], slack_user_id=body["user"]["id"]
        )
        text = outcome.message if outcome.ok else f":warning: {outcome.message}"
        respond(text=text, replace_original=True, response_type="ephemeral")

    @app.action("keep_request")
    def keep_request(ack: Ack, action: dict[str, Any], respond: Respond) -> None:
        ack()
        respond(text=f"Kept {action['value']}.", replace_original=True, response_type="ephemeral")
