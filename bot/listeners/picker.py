"""The time picker's buttons: email the ticked times, invite for one, show more, or leave it to
the rep. Ticking a box is only state in the message; the buttons read it when clicked."""

from __future__ import annotations

import uuid
from typing import Any

import structlog
from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.picker_blocks import SELECT_ACTION, picker_card
from orchestrator.deps import Deps
from orchestrator.steps.find_times import PickOutcome, choose, show_more
from orchestrator.views import PickerView

log = structlog.get_logger(__name__)

CHOICES = {"picker_email": "email", "picker_invite": "invite", "picker_handle": "handle"}


def button_target(value: str) -> tuple[uuid.UUID, int] | None:
    """(picker job id, page shown) from a button's `job:page` value."""
    job, _, page = value.partition(":")
    try:
        return uuid.UUID(job), int(page)
    except ValueError:
        return None


def ticked(body: dict[str, Any]) -> list[int]:
    """Option indices ticked on the card when the button was clicked."""
    picked: list[int] = []
    for block in (body.get("state") or {}).get("values", {}).values():
        state = block.get(SELECT_ACTION) or {}
        for option in state.get("selected_options") or []:
            if str(option.get("value", "")).isdigit():
                picked.append(int(option["value"]))
    return picked


def _redraw(client: WebClient, body: dict[str, Any], view: PickerView) -> None:
    channel = view.channel or body["container"]["channel_id"]
    ts = view.ts or body["container"]["message_ts"]
    text, blocks = picker_card(view)
    client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)


def _answer(
    client: WebClient, body: dict[str, Any], respond: Respond, outcome: PickOutcome
) -> None:
    if outcome.ok and outcome.view is not None:
        _redraw(client, body, outcome.view)
    else:
        # The card stays as it is; only the clicker needs telling.
        respond(text=outcome.message, replace_original=False, response_type="ephemeral")


def register(app: App, deps: Deps) -> None:
    @app.action(SELECT_ACTION)
    def tick(ack: Ack) -> None:
        ack()

    def on_choice(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, respond: Respond
    ) -> None:
        ack()
        target = button_target(action.get("value", ""))
        if target is None:
            respond(
                text="That button is broken; run `/schedule times` again.",
                replace_original=False,
                response_type="ephemeral",
            )
            return
        job_id, page = target
        outcome = choose(
            deps,
            job_id=job_id,
            choice=CHOICES[action["action_id"]],
            page=page,
            ticked=ticked(body),
            slack_user_id=body["user"]["id"],
        )
        log.info("time_picked", job_id=str(job_id), ok=outcome.ok, choice=action["action_id"])
        _answer(client, body, respond, outcome)

    for name in CHOICES:
        app.action(name)(on_choice)

    @app.action("picker_more")
    def more(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, respond: Respond
    ) -> None:
        ack()
        target = button_target(action.get("value", ""))
        if target is None:
            return
        job_id, page = target
        outcome = show_more(deps, job_id=job_id, page=page, slack_user_id=body["user"]["id"])
        _answer(client, body, respond, outcome)
