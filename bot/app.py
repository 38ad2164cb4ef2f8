"""The Bolt app. Listeners ack first, validate, persist, enqueue — real work runs in workers."""

from __future__ import annotations

import uuid
from typing import Any

import structlog
from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.commands import HELP_TEXT, CommandError, parse_schedule
from orchestrator.bootstrap import Deps
from orchestrator.cards import refresh_card
from orchestrator.intake import RepProfile, start_scheduling
from orchestrator.outbox import decide

log = structlog.get_logger(__name__)

DECISIONS = {"approve_action": "approve", "reject_action": "reject", "undo_action": "undo"}


def build_app(deps: Deps, *, socket_mode: bool = False) -> App:
    """The app for HTTP (every request signature-checked) or Socket Mode (no HTTP at all)."""
    settings = deps.settings
    if not socket_mode and not settings.slack_signing_secret:
        raise ValueError("SLACK_SIGNING_SECRET is required to serve Slack over HTTP")
    app = App(
        signing_secret=settings.slack_signing_secret or "",
        # Socket Mode frames arrive over the WebSocket our app token opened; nothing to sign.
        request_verification_enabled=not socket_mode,
        client=deps.slack_client,
        # A fake or misconfigured token should fail requests loudly, not the process start.
        token_verification_enabled=False,
    )

    @app.command("/schedule")
    def schedule(ack: Ack, command: dict[str, Any], client: WebClient, respond: Respond) -> None:
        text = (command.get("text") or "").strip()
        if text.lower() in {"", "help"}:
            ack(text=HELP_TEXT, response_type="ephemeral")
            return
        ack()  # Slack's 3 s budget: everything below may talk to Slack and the database.
        profile = _profile(client, command["user_id"])
        try:
            parsed = parse_schedule(text, now=deps.clock.now(), tz=profile.timezone)
        except CommandError as exc:
            respond(text=f":warning: {exc}\n\n{HELP_TEXT}", response_type="ephemeral")
            return
        started = start_scheduling(
            deps,
            org_id=command["team_id"],
            profile=profile,
            command=parsed,
            idempotency_key=f"slack:{command['team_id']}:{command['trigger_id']}",
        )
        log.info("request_started", ref=started.ref, created=started.created)
        respond(
            text=f"*{started.ref}*: finding times for a {parsed.meeting_type} with "
            f"{', '.join(parsed.emails)}. I'll DM you a draft; nothing is sent until you approve.",
            response_type="ephemeral",
        )

    def on_decision(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond
    ) -> None:
        ack()
        decision = DECISIONS[action["action_id"]]
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
            deps, action_id=action_id, decision=decision, slack_user_id=body["user"]["id"]
        )
        if not outcome.ok:
            respond(text=outcome.message, replace_original=False, response_type="ephemeral")
        if outcome.action is not None:
            refresh_card(deps, outcome.action.id)

    for action_id in DECISIONS:
        app.action(action_id)(on_decision)

    @app.event("app_home_opened")
    def home(event: dict[str, Any], client: WebClient) -> None:
        client.views_publish(
            user_id=event["user"],
            view={
                "type": "home",
                "blocks": [
                    {
                        "type": "section",
                        "text": {
                            "type": "mrkdwn",
                            "text": "*Convene* — type `/schedule help` to start.",
                        },
                    }
                ],
            },
        )

    return app


def _profile(client: WebClient, user_id: str) -> RepProfile:
    user = client.users_info(user=user_id)["user"]
    profile = user.get("profile", {})
    return RepProfile(
        slack_user_id=user_id,
        email=profile.get("email") or f"{user_id.lower()}@unknown.invalid",
        name=profile.get("real_name") or user.get("name") or user_id,
        timezone=user.get("tz") or "UTC",
    )
