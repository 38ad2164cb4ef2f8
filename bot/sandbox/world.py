"""The embedded stack the sandbox page and `convene demo` drive: the real Bolt app behind a real
HTTP server, the local Slack stand-in, a migrated SQLite file, the in-process queue, the
embedded calendar and mailbox, and a clock that moves when asked.

Nothing here shortcuts the product: Slack traffic is signed HTTP to `/slack/events`, the
prospect's replies are delivered to the rep's embedded mailbox and read by the clock's mail
intake, and time passes through the injected clock and the clock's own tick.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol
from wsgiref.simple_server import WSGIServer

from pydantic import SecretStr

from bot.app import build_app
from bot.local_slack import LocalSlack
from bot.sandbox.seed import ORG, seed_calendars, slack_users
from bot.slack_requests import Reply, post_signed
from bot.web import serve
from connectors.mail.local import LocalMailbox
from db.migrate import upgrade
from orchestrator import jobs
from orchestrator.bootstrap import bootstrap
from orchestrator.deps import Deps
from orchestrator.engine.embedded import drain
from orchestrator.settings import Settings
from orchestrator.timers.tick import tick

SECRET = "sandbox-signing-secret"  # signs what the page sends; nothing outside knows the app


class MovableClock(Protocol):
    def now(self) -> Any: ...

    def advance(self, delta: timedelta) -> Any: ...


def embedded_settings(slack: LocalSlack, database: Path, *, secret: str) -> Settings:
    """Embedded defaults (a fresh, migrated SQLite file and no Redis) talking to the local Slack
    stand-in, which signs with `secret`: the demo's and sandbox's stack, and the ack bench's."""
    url = f"sqlite:///{database}"
    upgrade(url)
    return Settings(
        database_url=url,
        redis_url=None,
        slack_signing_secret=SecretStr(secret),
        slack_bot_token=SecretStr(slack.token),
        slack_api_url=slack.api_url,
    )


@dataclass
class World:
    deps: Deps
    slack: LocalSlack
    clock: MovableClock
    server: WSGIServer
    secret: str
    # One drain or tick at a time: the page's clock buttons and the background loop share it.
    lock: threading.RLock = field(default_factory=threading.RLock)

    @classmethod
    def start(cls, workdir: Path, *, clock: MovableClock, secret: str = SECRET) -> World:
        slack = LocalSlack.start(users=slack_users())
        settings = embedded_settings(slack, workdir / "convene.db", secret=secret)
        deps = bootstrap(settings, clock=clock)
        jobs.install(deps)
        server = serve(build_app(deps), deps, host="127.0.0.1", port=0)
        seed_calendars(deps.sessions, now=clock.now())
        return cls(deps=deps, slack=slack, clock=clock, server=server, secret=secret)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.slack.stop()
        self.deps.engine.dispose()

    @property
    def events_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/slack/events"

    @property
    def team_id(self) -> str:
        return self.slack.team_id

    @property
    def mailbox(self) -> LocalMailbox:
        return LocalMailbox(self.deps.sessions, clock=self.deps.clock, org_id=ORG)

    def send(self, body: bytes) -> Reply:
        """What Slack does for every command, click and submission: sign it and POST it."""
        return post_signed(self.events_url, body, secret=self.secret)

    # --- the back office ----------------------------------------------------------------------

    def run(self) -> None:
        """Let the worker run what is queued (the in-process queue has no worker of its own)."""
        with self.lock:
            drain(self.deps)

    def tick(self) -> None:
        """One tick of the clock process (due work, mail intake, held notices), then the worker."""
        with self.lock:
            tick(self.deps)
            drain(self.deps)

    def advance(self, delta: timedelta) -> None:
        with self.lock:
            self.clock.advance(delta)
            self.tick()

    def deliver(self, raw: bytes, *, to: str) -> None:
        """Someone outside sends `raw` to `to`: it lands in the embedded mailbox, where the next
        tick's mail intake reads it exactly as it reads a provider's inbox."""
        self.mailbox.deliver(raw, to=to)
