"""`convene socket`: the same app over a real WebSocket to a local Socket Mode peer."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import fakeredis
import pytest
from aiohttp import web
from sqlmodel import select

from bot.local_slack import LocalSlack
from bot.socket import socket_mode_handler
from connectors.clock import ManualClock
from db.models import SchedulingRequest
from orchestrator.bootstrap import bootstrap
from orchestrator.deps import Deps
from orchestrator.settings import Settings
from tests.support.stack import REP_ID, USERS, wait_for


class SocketPeer:
    """Plays Slack's side of Socket Mode: says hello, sends envelopes, records the acks."""

    def __init__(self) -> None:
        self.acks: list[dict[str, Any]] = []
        self.outbox: asyncio.Queue[dict[str, Any]] | None = None
        self.loop = asyncio.new_event_loop()
        self.port = 0
        ready = threading.Event()
        threading.Thread(target=self._serve, args=(ready,), daemon=True).start()
        assert ready.wait(5)

    def _serve(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        self.outbox = asyncio.Queue()
        app = web.Application()
        app.router.add_get("/link", self._socket)
        runner = web.AppRunner(app)
        self.loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        self.loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        ready.set()
        self.loop.run_forever()

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_str(json.dumps({"type": "hello", "num_connections": 1}))

        async def pump() -> None:
            assert self.outbox is not None
            while True:
                await ws.send_str(json.dumps(await self.outbox.get()))

        sender = asyncio.ensure_future(pump())
        async for message in ws:
            self.acks.append(json.loads(message.data))
        sender.cancel()
        return ws

    def send(self, envelope: dict[str, Any]) -> None:
        assert self.outbox is not None
        self.loop.call_soon_threadsafe(self.outbox.put_nowait, envelope)


@dataclass
class SocketStack:
    peer: SocketPeer
    slack: LocalSlack
    deps: Deps


@pytest.fixture
def socket_stack(sqlite_url: str, clock: ManualClock) -> Iterator[SocketStack]:
    peer = SocketPeer()
    slack = LocalSlack.start(users=USERS, socket_url=f"ws://127.0.0.1:{peer.port}/link")
    settings = Settings(
        database_url=sqlite_url,
        redis_url=None,
        slack_bot_token=slack.token,
        slack_app_token=slack.app_token,
        slack_api_url=slack.api_url,
    )
    deps = bootstrap(settings, clock=clock, redis=fakeredis.FakeRedis())
    handler = socket_mode_handler(deps)
    handler.connect()
    try:
        yield SocketStack(peer, slack, deps)
    finally:
        handler.close()
        slack.stop()
        deps.engine.dispose()


def _command(envelope_id: str, text: str, slack: LocalSlack) -> dict[str, Any]:
    return {
        "envelope_id": envelope_id,
        "type": "slash_commands",
        "accepts_response_payload": True,
        "payload": {
            "command": "/schedule",
            "text": text,
            "team_id": slack.team_id,
            "channel_id": "C1",
            "user_id": REP_ID,
            "trigger_id": envelope_id,
            "api_app_id": "A1",
            "response_url": slack.hook_url(envelope_id),
        },
    }


def _start_click(envelope_id: str, value: str, slack: LocalSlack) -> dict[str, Any]:
    return {
        "envelope_id": envelope_id,
        "type": "interactive",
        "accepts_response_payload": False,
        "payload": {
            "type": "block_actions",
            "user": {"id": REP_ID},
            "team": {"id": slack.team_id},
            "api_app_id": "A1",
            "trigger_id": envelope_id,
            "container": {"type": "message", "message_ts": "1.1", "is_ephemeral": True},
            "response_url": slack.hook_url(envelope_id),
            "actions": [
                {"action_id": "start_request", "block_id": "confirm_request", "value": value}
            ],
        },
    }


def test_help_over_socket_mode(socket_stack: SocketStack) -> None:
    peer, slack = socket_stack.peer, socket_stack.slack
    peer.send(_command("env-1", "help", slack))
    ack = wait_for(lambda: [a for a in peer.acks if a.get("envelope_id") == "env-1"], "the ack")
    assert "/schedule demo with john@acme.com" in ack[0]["payload"]["text"]
    assert slack.calls_to("apps.connections.open")


def test_schedule_over_socket_mode_creates_the_request(socket_stack: SocketStack) -> None:
    peer, slack = socket_stack.peer, socket_stack.slack
    peer.send(_command("env-2", "demo with john@acme.example", slack))
    wait_for(lambda: [a for a in peer.acks if a.get("envelope_id") == "env-2"], "the ack")
    (card,) = wait_for(lambda: slack.responses, "the confirm card")
    assert card["text"] == "Start a demo with john@acme.example?"
    (start,) = [
        e
        for b in card["blocks"]
        for e in b.get("elements", [])
        if e.get("action_id") == "start_request"
    ]
    peer.send(_start_click("env-3", start["value"], slack))
    wait_for(lambda: [a for a in peer.acks if a.get("envelope_id") == "env-3"], "the click's ack")
    reply = wait_for(lambda: slack.responses[1:], "the confirmation")
    assert reply[0]["text"].startswith("*ACME-1*: finding times for a demo")
    with socket_stack.deps.uow() as uow:
        (request,) = uow.session.exec(select(SchedulingRequest)).all()
    assert request.ref == "ACME-1"
