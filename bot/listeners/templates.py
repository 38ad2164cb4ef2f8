"""`/schedule templates`: workspace admins list, add and edit the team's meeting types.

The admin check runs on every step (the command, each Edit click and the Save), since a
modal outlives the moment it was opened. Saving is one local transaction inside Slack's 3 s.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond

from bot.admins import is_workspace_admin, refusal
from bot.templates_modal import (
    CALLBACK_ID,
    EDIT_ACTION,
    NEW_ACTION,
    read_template,
    template_view,
    templates_message,
)
from orchestrator.commands.meeting_types import save_kind, team_kinds
from orchestrator.deps import Deps
from orchestrator.meeting_kinds import MeetingKind

NOT_ADMIN = (
    "Only a workspace admin or owner can change the team's meeting types. "
    "Ask one of them, or use `/schedule <type> with …` with the types there are."
)


def templates_command(
    deps: Deps, command: dict[str, Any], rest: str, ack: Ack, respond: Respond
) -> None:
    """`/schedule templates` lists the types; `/schedule templates demo` opens one to edit."""
    ack()
    admin = is_workspace_admin(deps.slack_client, command["user_id"])
    if not admin:
        respond(text=refusal(admin, NOT_ADMIN), response_type="ephemeral")
        return
    kinds = team_kinds(deps, org_id=command["team_id"])
    name = " ".join(rest.split()).lower()
    if name:
        deps.slack_client.views_open(
            trigger_id=command["trigger_id"],
            view=template_view(kinds.get(name) or MeetingKind(name=name)),
        )
        return
    text, blocks = templates_message(kinds)
    respond(text=text, blocks=blocks, response_type="ephemeral")


def register(app: App, deps: Deps) -> None:
    def open_editor(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond
    ) -> None:
        ack()
        admin = is_workspace_admin(deps.slack_client, body["user"]["id"])
        if not admin:
            respond(
                text=refusal(admin, NOT_ADMIN), response_type="ephemeral", replace_original=False
            )
            return
        kinds = team_kinds(deps, org_id=body["team"]["id"])
        kind = kinds.get(action.get("value") or "") if action["action_id"] == EDIT_ACTION else None
        deps.slack_client.views_open(trigger_id=body["trigger_id"], view=template_view(kind))

    app.action(EDIT_ACTION)(open_editor)
    app.action(NEW_ACTION)(open_editor)

    @app.view(CALLBACK_ID)
    def save(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        kind, replaces, errors = read_template(
            view["state"]["values"], view.get("private_metadata", "")
        )
        if kind is None:
            ack(response_action="errors", errors=errors)
            return
        user = body["user"]["id"]
        admin = is_workspace_admin(deps.slack_client, user)
        if not admin:
            ack(response_action="errors", errors={"name": refusal(admin, NOT_ADMIN)})
            return
        with deps.uow() as uow:
            saved = save_kind(
                uow.session,
                org_id=body["team"]["id"],
                kind=kind,
                replaces=replaces,
                now=deps.clock.now(),
            )
            if saved.ok:
                uow.commit()
        if not saved.ok:
            ack(response_action="errors", errors={"name": saved.message})
            return
        ack()
        channel = deps.slack_client.conversations_open(users=[user])["channel"]["id"]
        deps.slack_client.chat_postMessage(
            channel=channel, text=f"{saved.message} `/schedule templates` lists them all."
        )
