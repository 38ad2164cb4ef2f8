"""`/schedule webhooks [add … | remove …]`, for the Slack workspace's admins and owners only.

Who is an admin is Slack's own answer (`users.info`: `is_admin`, `is_owner`), read on every
command, so a demoted admin loses the command at once. The answer is ephemeral: the signing
secret it shows on `add` is for the admin's eyes only.
"""

from __future__ import annotations

from typing import Any

import structlog
from slack_bolt import Respond

from bot.admins import is_workspace_admin, refusal
from orchestrator.commands import webhooks
from orchestrator.deps import Deps

log = structlog.get_logger(__name__)

REFUSED = (
    ":no_entry: Only a Slack workspace admin or owner can manage Convene's webhooks. "
    "Ask one of them to run `/schedule webhooks`."
)


def webhooks_command(deps: Deps, command: dict[str, Any], rest: str, respond: Respond) -> None:
    """Runs after the ack: it asks Slack who the user is before anything else."""
    team, user = command["team_id"], command["user_id"]
    admin = is_workspace_admin(deps.slack_client, user)
    if not admin:
        respond(text=refusal(admin, REFUSED), response_type="ephemeral")
        return
    verb, *words = rest.split() or [""]
    if verb.lower() == "add":
        said = webhooks.add(deps, org_id=team, slack_user_id=user, words=words)
    elif verb.lower() == "remove":
        said = webhooks.remove(deps, org_id=team, words=words)
    elif not verb or verb.lower() == "list":
        said = webhooks.overview(deps, org_id=team)
    else:
        said = webhooks.Said(False, webhooks.USAGE)
    respond(text=said.text if said.ok else f":warning: {said.text}", response_type="ephemeral")
