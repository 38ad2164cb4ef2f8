"""The whole app behind real HTTP: Bolt on a local WSGI server, slack-sdk talking to the local
Slack stand-in, the orchestrator on the given database and Redis, the clock in the test's hand."""

from __future__ import annotations

import copy
import itertools
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from redis import Redis
from sqlmodel import SQLModel, select

from bot.app import build_app
from bot.local_slack import LocalSlack, Message
from bot.slack_requests import (
    Reply,
    app_home_opened,
    button_click,
    post_signed,
    slash_command,
    view_submission,
)
from bot.web import serve
from connectors.clock import ManualClock
from connectors.mail.local import LocalMailbox
from connectors.ports import CalendarPort, MailPort
from db.models import LocalMailMessage
from orchestrator.bootstrap import bootstrap
from orchestrator.deps import Deps
from orchestrator.engine.embedded import drain
from orchestrator.inbox.intake import poll_inboxes
from orchestrator.settings import Settings
from orchestrator.timers.tick import tick
from tests.support.servers import stop_server

SECRET = "test-signing-secret"
REP_ID = "U0REP"
REP_EMAIL = "rita@northwind.example"
OTHER_ID = "U0OTHER"
ADMIN_ID = "U0ADMIN"  # a Slack workspace admin (users.info says so)
USERS = {
    REP_ID: {
        "name": "rita",
        "tz": "America/New_York",
        "profile": {"email": REP_EMAIL, "real_name": "Rita Moreno"},
    },
    OTHER_ID: {
        "name": "otto",
        "tz": "Europe/Berlin",
        "profile": {"email": "otto@northwind.example", "real_name": "Otto Weber"},
    },
    ADMIN_ID: {
        "name": "ada",
        "tz": "UTC",
        "is_admin": True,
        "profile": {"email": "ada@northwind.example", "real_name": "Ada Admin"},
    },
}

T = TypeVar("T", bound=SQLModel)
_triggers = itertools.count(1)


def wait_for(predicate: Callable[[], Any], what: str, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := predicate():
            return result
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@dataclass
class Stack:
    deps: Deps
    slack: LocalSlack
    clock: ManualClock
    events_url: str
    last_hook: str = ""

    @classmethod
    @contextmanager
    def start(
        cls,
        *,
        database_url: str,
        redis: Redis,
        clock: ManualClock,
        calendar: CalendarPort | None = None,
        mail: MailPort | None = None,
        **settings: Any,
    ) -> Iterator[Stack]:
        slack = LocalSlack.start(users=USERS)
        config = Settings(
            database_url=database_url,
            redis_url=None,
            slack_signing_secret=SECRET,
            slack_bot_token=slack.token,
            slack_api_url=slack.api_url,
            **settings,
        )
        deps = bootstrap(config, clock=clock, redis=redis, calendar=calendar, mail=mail)
        server = serve(build_app(deps), deps, host="127.0.0.1", port=0)
        try:
            yield cls(deps, slack, clock, f"http://127.0.0.1:{server.server_port}/slack/events")
        finally:
            stop_server(server)
            if slack._server is not None:
                stop_server(slack._server)
            slack.stop()
            deps.engine.dispose()

    # --- Slack, as a person would use it ----------------------------------------------------

    def command(self, text: str, *, user: str = REP_ID, trigger_id: str | None = None) -> Reply:
        hook = f"cmd-{next(_triggers)}"
        reply = post_signed(
            self.events_url,
            slash_command(
                text=text,
                user_id=user,
                team_id=self.slack.team_id,
                response_url=self.slack.hook_url(hook),
                trigger_id=trigger_id or hook,
            ),
            secret=SECRET,
        )
        self.last_hook = hook
        return reply

    def confirm_card(self) -> Message:
        """The Start / Edit card the last inline `/schedule` answered with (ephemeral)."""
        hook = self.last_hook
        found = wait_for(
            lambda: [r for r in self.slack.responses if r["hook"] == hook], "the confirm card"
        )
        answer = found[-1]
        return Message("C0GENERAL", "ephemeral", str(answer["text"]), answer.get("blocks") or [])

    def schedule(self, text: str, *, user: str = REP_ID, trigger_id: str | None = None) -> str:
        """`/schedule <text>`, then Start on its confirm card: what the rep is told after."""
        reply = self.command(text, user=user, trigger_id=trigger_id)
        assert reply.status == 200 and not reply.body, reply
        return self.command_response(self.click("start_request", self.confirm_card(), user=user))

    def command_response(self, reply: Reply) -> str:
        """The text the rep finally sees: the ack body, or what the listener posted after it."""
        if reply.body:
            return reply.body
        hook = self.last_hook
        found = wait_for(
            lambda: [r for r in self.slack.responses if r["hook"] == hook], "the command reply"
        )
        return str(found[-1]["text"])

    def open_home(self, *, user: str = REP_ID) -> dict[str, Any]:
        before = len(self.slack.calls_to("views.publish"))
        post_signed(
            self.events_url,
            app_home_opened(user_id=user, team_id=self.slack.team_id),
            secret=SECRET,
        )
        wait_for(lambda: len(self.slack.calls_to("views.publish")) > before, "views.publish")
        return self.slack.home_views[user]

    def click(
        self,
        action_id: str,
        card: Message,
        *,
        user: str = REP_ID,
        state: dict[str, Any] | None = None,
    ) -> Reply:
        """Press a button on `card`; like Slack, the payload carries the message and the
        `state` of the card's other inputs ({block_id: {action_id: {...}}})."""
        value = self.button_value(card, action_id)
        hook = f"click-{next(_triggers)}"
        self.last_hook = hook
        return post_signed(
            self.events_url,
            button_click(
                action_id=action_id,
                value=value,
                user_id=user,
                team_id=self.slack.team_id,
                response_url=self.slack.hook_url(hook),
                channel_id=card.channel,
                message_ts=card.ts,
                message={"ts": card.ts, "text": card.text, "blocks": card.blocks},
                state=state,
            ),
            secret=SECRET,
        )

    def pick(self, action_id: str, choice: str, card: Message, *, user: str = REP_ID) -> Reply:
        """Choose `choice` in the card's select `action_id` (its block id carries the draft)."""
        block = next(
            b
            for b in card.blocks
            if any(e.get("action_id") == action_id for e in b.get("elements", []))
        )
        hook = f"pick-{next(_triggers)}"
        self.last_hook = hook
        return post_signed(
            self.events_url,
            button_click(
                action_id=action_id,
                value="",
                user_id=user,
                team_id=self.slack.team_id,
                response_url=self.slack.hook_url(hook),
                channel_id=card.channel,
                message_ts=card.ts,
                block_id=block["block_id"],
                selected=choice,
            ),
            secret=SECRET,
        )

    def submit(self, view: dict[str, Any], values: dict[str, Any], *, user: str = REP_ID) -> Reply:
        body = view_submission(view=view, values=values, user_id=user, team_id=self.slack.team_id)
        return post_signed(self.events_url, body, secret=SECRET)

    @staticmethod
    def button_value(card: Message, action_id: str) -> str:
        for block in card.blocks:
            for element in [*block.get("elements", []), block.get("accessory") or {}]:
                if element.get("action_id") == action_id:
                    return str(element["value"])
        raise AssertionError(f"no {action_id} button on the card: {card.blocks}")

    def cards(self) -> list[Message]:
        """DM'd cards as a client saw them now (copies: later updates don't change them)."""
        return [
            copy.deepcopy(m) for m in self.slack.messages if m.channel.startswith("D") and m.blocks
        ]

    # --- the back office ----------------------------------------------------------------------

    def drain(self) -> None:
        drain(self.deps)

    def tick(self) -> None:
        """What the clock process does every interval, then let the worker run."""
        tick(self.deps)
        drain(self.deps)

    def rows(self, model: type[T], *where: Any) -> list[T]:
        with self.deps.uow() as uow:
            return list(uow.session.exec(select(model).where(*where)))

    def inbox(self, address: str) -> list[LocalMailMessage]:
        # Read the embedded mailbox directly, even when a test wrapped `deps.mail`.
        return LocalMailbox(self.deps.sessions, clock=self.clock).messages(mailbox=address)

    def deliver(self, raw: bytes, *, to: str = REP_EMAIL) -> None:
        """Someone outside sends `raw` to `to`'s embedded mailbox (a prospect replying)."""
        LocalMailbox(self.deps.sessions, clock=self.clock).deliver(raw, to=to)

    def poll_mail(self) -> dict[str, int]:
        """What the clock does for inbound mail, then let the worker run what it started."""
        counts = poll_inboxes(self.deps)
        drain(self.deps)
        return counts
