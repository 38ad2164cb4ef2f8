"""Who may change what the whole team shares (meeting types): the workspace's admins and owners,
as Slack says at the moment they ask, so a demoted admin loses the right at once."""

from __future__ import annotations

import structlog
from slack_sdk import WebClient

log = structlog.get_logger(__name__)

NOT_ADMIN = (
    "Only a workspace admin or owner can change the team's meeting types. "
    "Ask one of them, or use `/schedule <type> with …` with the types there are."
)


def is_workspace_admin(client: WebClient, user_id: str) -> bool:
    """True for an admin or owner; False when Slack says otherwise or cannot be asked."""
    try:
        user = client.users_info(user=user_id)["user"]
    except Exception as exc:  # noqa: BLE001 - not knowing is not a yes
        log.warning("admin_check_failed", error=repr(exc))
        return False
    return bool(user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner"))
