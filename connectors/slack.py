"""ChatPort over slack-sdk's WebClient. 429s are retried per Retry-After by the SDK's handler."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from connectors.ports import PostedMessage


def make_web_client(*, token: str | None, base_url: str | None = None) -> WebClient:
    kwargs: dict[str, Any] = {"token": token, "timeout": 10}
    if base_url:
        kwargs["base_url"] = base_url
    client = WebClient(**kwargs)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=2))
    return client


class SlackChat:
    def __init__(self, client: WebClient) -> None:
        self._client = client

    def post_message(
        self, *, channel: str, text: str, blocks: Sequence[Mapping[str, Any]] = ()
    ) -> PostedMessage:
        response = self._client.chat_postMessage(
            channel=channel, text=text, blocks=[dict(b) for b in blocks]
        )
        return PostedMessage(channel=response["channel"], ts=response["ts"])

    def update_message(
        self, *, channel: str, ts: str, text: str, blocks: Sequence[Mapping[str, Any]] = ()
    ) -> None:
        self._client.chat_update(
            channel=channel, ts=ts, text=text, blocks=[dict(b) for b in blocks]
        )

    def open_dm(self, *, user_id: str) -> str:
        response = self._client.conversations_open(users=[user_id])
        return str(response["channel"]["id"])
