"""The buttons on a "<sender> asks for a demo — offer these times?" card.

Offer starts the request at once; Edit opens the /schedule form filled in with the sender and
what they asked for, and its submit starts it the same way; Ignore records the choice. Each
redraws the card with what was done, so it cannot be pressed into a second request.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

import structlog
from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.listeners.start import profile_of
from bot.modals import new_request_view, read_submission
from orchestrator.commands.meeting_types import team_kinds
from orchestrator.deps import Deps
from orchestrator.inbox.inbound_requests import (
    EDIT,
    IGNORE,
    OFFER,
    Chosen,
    edit_prefill,
    ignore,
    offer,
)

log = structlog.get_logger(__name__)

FORM_CALLBACK = "inbound_request_form"
BROKEN = "That button is broken; the email is still in your mailbox."


def _ephemeral(respond: Respond, text: str) -> None:
    respond(text=text, replace_original=False, response_type="ephemeral")


def _inbound_id(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def _redraw(deps: Deps, body: dict[str, Any], note: str) -> None:
    """Keep the card's text, replace its buttons with what was done."""
    message = body.get("message") or {}
    container = body.get("container") or {}
    kept = [b for b in message.get("blocks") or [] if b.get("type") != "actions"]
    deps.chat.update_message(
        channel=container.get("channel_id") or body["channel"]["id"],
        ts=container["message_ts"],
        text=note,
        blocks=[*kept, {"type": "context", "elements": [{"type": "mrkdwn", "text": note}]}],
    )


def _answer(deps: Deps, body: dict[str, Any], respond: Respond, chosen: Chosen, label: str) -> None:
    if not chosen.ok:
        _ephemeral(respond, chosen.message)
        return
    note = f":white_check_mark: <@{body['user']['id']}> chose *{label}*. {chosen.message}"
    try:
        _redraw(deps, body, note)
    except Exception as exc:  # noqa: BLE001 - the choice is recorded; the card is cosmetic
        log.warning("inbound_request_card_update_failed", error=repr(exc))
        _ephemeral(respond, note)


def register(app: App, deps: Deps) -> None:
    @app.action(OFFER)
    def on_offer(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        inbound_id = _inbound_id(action.get("value", ""))
        if inbound_id is None:
            _ephemeral(respond, BROKEN)
            return
        chosen = offer(deps, inbound_id=inbound_id, slack_user_id=body["user"]["id"])
        _answer(deps, body, respond, chosen, "Offer")

    @app.action(IGNORE)
    def on_ignore(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        inbound_id = _inbound_id(action.get("value", ""))
        if inbound_id is None:
            _ephemeral(respond, BROKEN)
            return
        chosen = ignore(deps, inbound_id=inbound_id, slack_user_id=body["user"]["id"])
        _answer(deps, body, respond, chosen, "Ignore")

    @app.action(EDIT)
    def on_edit(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, respond: Respond
    ) -> None:
        ack()
        inbound_id = _inbound_id(action.get("value", ""))
        prefill = edit_prefill(deps, inbound_id=inbound_id) if inbound_id else None
        if inbound_id is None or prefill is None:
            _ephemeral(respond, BROKEN)
            return
        command, tz = prefill
        view = new_request_view(
            today=deps.clock.now().date(),
            prefill=command,
            tz=tz,
            kinds=team_kinds(deps, org_id=body["team"]["id"]),
        )
        # Its own callback: the submit answers this email, not a fresh /schedule.
        view = {**view, "callback_id": FORM_CALLBACK, "private_metadata": str(inbound_id)}
        try:
            client.views_open(trigger_id=body["trigger_id"], view=view)
        except Exception:  # noqa: BLE001 - acked: the rep hears of it
            log.exception("inbound_request_form_not_opened")
            _ephemeral(respond, "Convene could not open the form just now; press Edit again.")

    @app.view(FORM_CALLBACK)
    def on_submit(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        inbound_id = _inbound_id(view.get("private_metadata", ""))
        prefill = edit_prefill(deps, inbound_id=inbound_id) if inbound_id else None
        tz = prefill[1] if prefill else "UTC"
        kinds = team_kinds(deps, org_id=body["team"]["id"])
        submission = read_submission(
            view["state"]["values"], now=deps.clock.now(), tz=tz, kinds=kinds
        )
        if submission.command is None or inbound_id is None:
            ack(response_action="errors", errors=submission.errors)
            return
        ack()
        user = body["user"]["id"]
        teammates = tuple(profile_of(client, uid) for uid in submission.teammate_ids)
        command = replace(submission.command, teammates=teammates)
        chosen = offer(deps, inbound_id=inbound_id, slack_user_id=user, command=command)
        channel = client.conversations_open(users=[user])["channel"]["id"]
        client.chat_postMessage(channel=channel, text=chosen.message)
