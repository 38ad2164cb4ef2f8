"""Requests shaped and signed the way Slack sends them (demo, sandbox and tests use these)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from slack_sdk.signature import SignatureVerifier


@dataclass(frozen=True)
class Reply:
    status: int
    body: str


def slash_command(
    *,
    text: str,
    user_id: str,
    team_id: str,
    response_url: str,
    trigger_id: str,
    channel_id: str = "C0GENERAL",
    command: str = "/schedule",
) -> bytes:
    return urlencode(
        {
            "command": command,
            "text": text,
            "team_id": team_id,
            "user_id": user_id,
            "channel_id": channel_id,
            "trigger_id": trigger_id,
            "response_url": response_url,
            "api_app_id": "A0CONVENE",
        }
    ).encode()


def button_click(
    *,
    action_id: str,
    value: str,
    user_id: str,
    team_id: str,
    response_url: str,
    channel_id: str,
    message_ts: str,
    block_id: str = "b",
    selected: str | None = None,
    message: dict[str, Any] | None = None,
    state: dict[str, Any] | None = None,
) -> bytes:
    """A click on a button (`value`) or, with `selected`, a pick in a static select.

    Like Slack, a click on a message may carry that `message` and the `state` of its other
    inputs ({block_id: {action_id: {...}}}), e.g. the radio option chosen before the click."""
    element: dict[str, Any] = {
        "action_id": action_id,
        "block_id": block_id,
        "action_ts": f"{time.time():.6f}",
    }
    if selected is None:
        element |= {"type": "button", "value": value}
    else:
        option = {"text": {"type": "plain_text", "text": selected}, "value": selected}
        element |= {"type": "static_select", "selected_option": option}
    return block_actions(
        action=element,
        user_id=user_id,
        team_id=team_id,
        container={"type": "message", "message_ts": message_ts, "channel_id": channel_id},
        channel_id=channel_id,
        response_url=response_url,
        message=message,
        state=state,
    )


def block_actions(
    *,
    action: dict[str, Any],
    user_id: str,
    team_id: str,
    container: dict[str, Any],
    channel_id: str | None = None,
    response_url: str | None = None,
    message: dict[str, Any] | None = None,
    view: dict[str, Any] | None = None,
    state: dict[str, Any] | None = None,
) -> bytes:
    """Any interaction with a message (`container` type "message", with its `channel_id` and a
    `response_url`) or a view (type "view": a modal or the Home tab, which carry the `view`)."""
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user_id},
        "team": {"id": team_id},
        "api_app_id": "A0CONVENE",
        # Unique per click: Slack's trigger ids open one modal each.
        "trigger_id": f"{uuid.uuid4().hex}.click",
        "container": container,
        "actions": [{"action_ts": f"{time.time():.6f}", **action}],
    }
    if channel_id is not None:
        payload["channel"] = {"id": channel_id}
    if response_url is not None:
        payload["response_url"] = response_url
    if message is not None:
        payload["message"] = message
    if view is not None:
        payload["view"] = view
    if state is not None:
        payload["state"] = {"values": state}
    return ("payload=" + quote(json.dumps(payload))).encode()


def view_submission(
    *, view: dict[str, Any], values: dict[str, Any], user_id: str, team_id: str
) -> bytes:
    """The modal `view` submitted with `values` ({block_id: {action_id: state}})."""
    payload = {
        "type": "view_submission",
        "team": {"id": team_id},
        "user": {"id": user_id},
        "api_app_id": "A0CONVENE",
        "trigger_id": f"{uuid.uuid4().hex}.submit",
        "view": {**view, "state": {"values": values}},
    }
    return ("payload=" + quote(json.dumps(payload))).encode()


def app_home_opened(*, user_id: str, team_id: str) -> bytes:
    return json.dumps(
        {
            "type": "event_callback",
            "team_id": team_id,
            "api_app_id": "A0CONVENE",
            "event_id": f"Ev{time.time_ns()}",
            "event_time": int(time.time()),
            "event": {
                "type": "app_home_opened",
                "user": user_id,
                "channel": "D" + user_id,
                "tab": "home",
            },
        }
    ).encode()


def post_signed(
    url: str, body: bytes, *, secret: str, timestamp: int | None = None, timeout: float = 10
) -> Reply:
    """POST `body` with Slack's v0 signature over exactly these bytes."""
    ts = str(timestamp if timestamp is not None else int(time.time()))
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body.decode())
    assert signature is not None
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json"
            if body.startswith(b"{")
            else "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": signature,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - local
            return Reply(response.status, response.read().decode())
    except urllib.error.HTTPError as error:
        return Reply(error.code, error.read().decode())


def decode_body(reply: Reply) -> Any:
    return json.loads(reply.body) if reply.body.startswith("{") else reply.body
