"""Who may change what the whole team shares (meeting types, webhooks): the workspace's admins
and owners, as Slack says at the moment they ask, so a demoted admin loses the right at once."""

from __future__ import annotations

import structlog
from slack_sdk import WebClient

log = structlog.get_logger(__name__)

UNCONFIRMED = (
    ":warning: I couldn't check with Slack that you are a workspace admin just now. "
    "Try again in a minute."
)


def is_workspace_admin(client: WebClient, user_id: str) -> bool | None:
    """True for an admin or owner, False for anyone else, None when Slack could not be asked
    (not knowing is never a yes; the caller says to try again)."""
    try:
        user = client.users_info(user=user_id)["user"]
    except Exception as exc:  # noqa: BLE001 - the person is told to try again
        log.warning("admin_check_failed", error=repr(exc))
        return None
    return bool(user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner"))


def refusal(admin: bool | None, refused: str) -> str:
    return refused if admin is False else UNCONFIRMED
