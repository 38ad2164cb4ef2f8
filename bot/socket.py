"""Socket Mode: the same Bolt app over a WebSocket Slack opens to us (no public URL)."""

from __future__ import annotations

from slack_bolt.adapter.socket_mode import SocketModeHandler

from bot.after_ack import AfterAck
from bot.app import build_app
from orchestrator.deps import Deps


def socket_mode_handler(deps: Deps, *, after_ack: AfterAck | None = None) -> SocketModeHandler:
    """A handler for `deps`; call `.connect()` (returns) or `.start()` (blocks)."""
    if not deps.settings.slack_app_token:
        raise ValueError("SLACK_APP_TOKEN (xapp-…) is required for Socket Mode")
    app = build_app(deps, socket_mode=True, after_ack=after_ack)
    return SocketModeHandler(app, app_token=deps.settings.slack_app_token.get_secret_value())
