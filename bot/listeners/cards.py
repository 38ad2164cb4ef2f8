"""Buttons on cards: approve, edit, reject (with a reason), send later, undo, retry, redraft a
stale draft with fresh times, show the full email; and the confirmation of a cancelled request."""

from __future__ import annotations

import uuid
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.blocks import REDRAFT, SHOW_FULL_EMAIL, send_later_time
from bot.draft_modals import (
    EDIT_CALLBACK,
    REJECT_CALLBACK,
    edit_target,
    edit_view,
    read_edit,
    reject_view,
)
from bot.full_email import full_email_view
from db.models import PendingAction, Rep
from orchestrator.commands import own_requests
from orchestrator.deps import Deps
from orchestrator.mrkdwn import owner_only
from orchestrator.outbox.approval_cards import action_view, load_view, refresh_card
from orchestrator.outbox.decisions import Decision, decide
from orchestrator.outbox.revalidate import redraft
from orchestrator.views import ActionView

BUTTONS = {"approve_action": "approve", "undo_action": "undo", "retry_action": "retry"}
# Buttons that open a modal on the draft; only someone who may decide it gets one.
MODALS = {"edit_action": edit_view, "reject_action": reject_view, SHOW_FULL_EMAIL: full_email_view}
BROKEN = "That button is broken; ask for a fresh card."
GONE = "That draft no longer exists."


def parse_id(value: str) -> uuid.UUID | None:
    """A button's id value, or None when it is not one (a stale or tampered payload)."""
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def _view_for(deps: Deps, action_id: uuid.UUID, slack_user_id: str) -> ActionView | str:
    """The draft as the clicker may see it, or why they may not (the same rule as deciding)."""
    with deps.uow() as uow:
        action = uow.session.get(PendingAction, action_id)
        if action is None:
            return GONE
        rep = uow.session.get_one(Rep, action.rep_id)
        if not rep.allows(slack_user_id):
            return owner_only(rep.slack_user_id)
        return action_view(uow.session, action)


def _tell(respond: Respond, outcome: Decision, deps: Deps) -> None:
    if not outcome.ok:
        # The card already shows the winning decision; only the clicker needs telling.
        respond(text=outcome.message, replace_original=False, response_type="ephemeral")
    elif outcome.action is not None:
        refresh_card(deps, outcome.action.id)


def register(app: App, deps: Deps) -> None:
    def on_button(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        action_id = parse_id(action["value"])
        if action_id is None:
            respond(text=BROKEN, replace_original=False, response_type="ephemeral")
            return
        outcome = decide(
            deps,
            action_id=action_id,
            decision=BUTTONS[action["action_id"]],
            slack_user_id=body["user"]["id"],
        )
        _tell(respond, outcome, deps)

    for name in BUTTONS:
        app.action(name)(on_button)

    def on_modal_button(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, respond: Respond
    ) -> None:
        ack()
        action_id = parse_id(action["value"])
        view = _view_for(deps, action_id, body["user"]["id"]) if action_id else BROKEN
        if isinstance(view, str):
            # Refused before any modal opens: no form to fill in only to be told "not yours".
            respond(text=view, replace_original=False, response_type="ephemeral")
            return
        client.views_open(trigger_id=body["trigger_id"], view=MODALS[action["action_id"]](view))

    for name in MODALS:
        app.action(name)(on_modal_button)

    @app.action(REDRAFT)
    def redraft_button(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond
    ) -> None:
        ack()
        action_id = parse_id(action["value"])
        if action_id is None:
            respond(text=BROKEN, replace_original=False, response_type="ephemeral")
            return
        outcome = redraft(deps, action_id=action_id, slack_user_id=body["user"]["id"])
        respond(text=outcome.message, replace_original=False, response_type="ephemeral")

    @app.action("send_later")
    def send_later(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond
    ) -> None:
        ack()
        action_id = parse_id(action["block_id"].removeprefix("decide:"))
        view = load_view(deps, action_id) if action_id else None
        if action_id is None or view is None:
            return
        at = send_later_time(
            action["selected_option"]["value"], now=deps.clock.now(), tz=view.rep_timezone
        )
        outcome = decide(
            deps,
            action_id=action_id,
            decision="approve",
            send_at=at,
            slack_user_id=body["user"]["id"],
        )
        _tell(respond, outcome, deps)

    def decide_in_modal(
        ack: Ack, body: dict[str, Any], ref: str, field: str, **decision: Any
    ) -> None:
        """Apply a modal's decision; a refusal is shown under `field`, not as a crash."""
        action_id = parse_id(ref)
        if action_id is None:
            ack(response_action="errors", errors={field: "This draft is gone."})
            return
        outcome = decide(deps, action_id=action_id, slack_user_id=body["user"]["id"], **decision)
        if not outcome.ok:
            ack(response_action="errors", errors={field: outcome.message})
            return
        ack()
        refresh_card(deps, action_id)

    @app.view(EDIT_CALLBACK)
    def save_edit(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        edits, errors = read_edit(view["state"]["values"])
        if errors:
            ack(response_action="errors", errors=errors)
            return
        ref, version = edit_target(view["private_metadata"])
        decide_in_modal(ack, body, ref, "body", decision="edit", edits=edits, version=version)

    @app.view(REJECT_CALLBACK)
    def save_reject(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        reason = (view["state"]["values"]["reason"]["reason"].get("value") or "").strip()
        decide_in_modal(
            ack, body, view["private_metadata"], "reason", decision="reject", reason=reason
        )

    @app.action("cancel_request")
    def cancel_request(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond
    ) -> None:
        ack()
        outcome = own_requests.cancel(
            deps, org_id=body["team"]["id"], ref=action["value"], slack_user_id=body["user"]["id"]
        )
        text = outcome.message if outcome.ok else f":warning: {outcome.message}"
        respond(text=text, replace_original=True, response_type="ephemeral")

    @app.action("keep_request")
    def keep_request(ack: Ack, action: dict[str, Any], respond: Respond) -> None:
        ack()
        respond(text=f"Kept {action['value']}.", replace_original=True, response_type="ephemeral")
