"""Held · No-show · Rescheduled on the after-the-meeting card."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import structlog
from slack_bolt import Ack, App, Respond

from bot.meeting_blocks import ANSWERS, meeting_check_card
from orchestrator.commands.own_requests import answer_meeting
from orchestrator.deps import Deps

log = structlog.get_logger(__name__)


def _parse(value: str) -> tuple[uuid.UUID, datetime] | None:
    """The button's value: the request and the meeting time the card asked about."""
    request_id, _, token = value.partition("|")
    try:
        return uuid.UUID(request_id), datetime.fromtimestamp(int(token), tz=UTC)
    except ValueError:
        return None


def apply_answer(
    deps: Deps, *, body: dict[str, Any], value: str, answer: str, respond: Respond
) -> bool:
    """Record a click's answer and redraw the after-the-meeting card; False (the clicker told
    why) when nothing changed. Shared with the morning brief's buttons."""
    parsed = _parse(value)
    if parsed is None:
        respond(
            text="That button is broken; the request is unchanged.",
            replace_original=False,
            response_type="ephemeral",
        )
        return False
    request_id, start = parsed
    outcome = answer_meeting(
        deps,
        org_id=body["team"]["id"],
        request_id=request_id,
        meeting_start=start,
        answer=answer,
        slack_user_id=body["user"]["id"],
    )
    if not outcome.ok:
        # The card already shows the first answer; only this clicker needs telling.
        respond(text=outcome.message, replace_original=False, response_type="ephemeral")
        return False
    if outcome.check is not None and outcome.card is not None:
        channel, ts = outcome.card
        text, blocks = meeting_check_card(outcome.check)
        try:
            deps.chat.update_message(channel=channel, ts=ts, text=text, blocks=blocks)
        except Exception as exc:  # noqa: BLE001 - the request row, not the card, is the truth
            log.warning("meeting_card_refresh_failed", error=repr(exc))
    return True


def register(app: App, deps: Deps) -> None:
    def on_answer(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        apply_answer(
            deps,
            body=body,
            value=action.get("value", ""),
            answer=ANSWERS[action["action_id"]],
            respond=respond,
        )

    for name in ANSWERS:
        app.action(name)(on_answer)
