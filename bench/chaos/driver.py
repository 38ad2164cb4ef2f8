"""Slack as the reps use it, over signed HTTP to `convene web`: start requests, wait for their
approval cards, click. Also the raw signer the attacks need (any bytes, any timestamp)."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import itertools
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from sqlalchemy import Engine
from sqlmodel import Session, select

from bench.chaos.rig import SECRET, Rig
from bot.slack_requests import button_click, slash_command, view_submission
from db.models import PendingAction, Rep

_hooks = itertools.count(1)


@dataclass(frozen=True)
class Answer:
    status: int  # 0: no HTTP answer at all
    body: str


@dataclass(frozen=True)
class Draft:
    action_id: str
    prospect: str
    rep_user: str
    channel: str
    ts: str


def sign(body: bytes, *, secret: str = SECRET, timestamp: int | None = None) -> dict[str, str]:
    """Slack's v0 signature over exactly these bytes (any bytes, not only valid UTF-8)."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256)
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": "v0=" + digest.hexdigest()}


def post(url: str, body: bytes, headers: dict[str, str], *, timeout: float = 15) -> Answer:
    parsed = urlparse(url)
    content_type = (
        "application/json" if body.startswith(b"{") else "application/x-www-form-urlencoded"
    )
    conn = http.client.HTTPConnection(parsed.hostname or "127.0.0.1", parsed.port, timeout=timeout)
    try:
        conn.request(
            "POST", parsed.path, body=body, headers={"Content-Type": content_type, **headers}
        )
        response = conn.getresponse()
        return Answer(response.status, response.read().decode("utf-8", "replace"))
    except OSError:
        return Answer(0, "")
    finally:
        conn.close()


class Driver:
    def __init__(self, rig: Rig) -> None:
        assert rig.slack is not None and rig.engine is not None
        self.rig = rig
        self.slack = rig.slack
        self.engine: Engine = rig.engine
        self.url = rig.web_url
        self.scenario = "setup"
        # (scenario, what, HTTP status) of every request a rep would send
        self.answers: list[tuple[str, str, int]] = []

    def send(self, what: str, body: bytes, *, timestamp: int | None = None) -> Answer:
        answer = post(self.url, body, sign(body, timestamp=timestamp))
        self.answers.append((self.scenario, what, answer.status))
        return answer

    # --- building requests ----------------------------------------------------------------------

    def command(self, text: str, user: str) -> tuple[bytes, str]:
        hook = f"cmd-{next(_hooks)}"
        body = slash_command(
            text=text,
            user_id=user,
            team_id=self.slack.team_id,
            response_url=self.slack.hook_url(hook),
            trigger_id=f"{uuid.uuid4().hex}.cmd",
        )
        return body, hook

    def click_body(self, action_id: str, value: str, *, user: str, channel: str, ts: str) -> bytes:
        return button_click(
            action_id=action_id,
            value=value,
            user_id=user,
            team_id=self.slack.team_id,
            response_url=self.slack.hook_url(f"click-{next(_hooks)}"),
            channel_id=channel,
            message_ts=ts,
        )

    def submit_body(self, view: dict[str, Any], values: dict[str, Any], *, user: str) -> bytes:
        return view_submission(view=view, values=values, user_id=user, team_id=self.slack.team_id)

    def answer_on(self, hook: str, timeout: float = 20) -> dict[str, Any] | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [r for r in list(self.slack.responses) if r["hook"] == hook]
            if found:
                return found[-1]
            time.sleep(0.05)
        return None

    # --- flows ----------------------------------------------------------------------------------

    def start_request(self, prospect: str, user: str) -> bool:
        """`/schedule demo with <prospect> next week`, then Start on its confirm card."""
        body, hook = self.command(f"demo with {prospect} next week", user)
        if self.send("command", body).status != 200:
            return False
        card = self.answer_on(hook)
        value = button(card, "start_request")
        if value is None:
            return False
        click = self.click_body("start_request", value, user=user, channel=f"D{user}", ts="eph")
        return self.send("start", click).status == 200

    def start_many(self, prospects: list[str], user: str, *, threads: int = 3) -> int:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            return sum(pool.map(lambda p: self.start_request(p, user), prospects))

    def drafts(self, prospects: list[str], *, timeout: float) -> dict[str, Draft]:
        """The first-email approval card of each prospect, once the worker posted it."""
        wanted = {p.lower() for p in prospects}
        found: dict[str, Draft] = {}
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(found) < len(wanted):
            with Session(self.engine) as session:
                rows = session.exec(
                    select(PendingAction, Rep)
                    .where(PendingAction.rep_id == Rep.id)
                    .where(PendingAction.action_type == "email_initial")
                    .where(PendingAction.status == "pending")
                ).all()
            for action, rep in rows:
                if action.slack_ts is None or action.slack_channel is None:
                    continue
                for to in action.action_data.get("to", []):
                    if to.lower() in wanted and to.lower() not in found:
                        found[to.lower()] = Draft(
                            str(action.id),
                            to.lower(),
                            rep.slack_user_id,
                            action.slack_channel,
                            action.slack_ts,
                        )
            time.sleep(0.3)
        return found

    def click(self, name: str, draft: Draft, *, user: str | None = None) -> Answer:
        body = self.click_body(
            name, draft.action_id, user=user or draft.rep_user, channel=draft.channel, ts=draft.ts
        )
        return self.send(name, body)


def button(answer: dict[str, Any] | None, action_id: str) -> str | None:
    """The value of a card's button, or None when there is no card or no such button."""
    for block in (answer or {}).get("blocks") or []:
        for element in [*(block.get("elements") or []), block.get("accessory") or {}]:
            if element.get("action_id") == action_id:
                return str(element.get("value"))
    return None
