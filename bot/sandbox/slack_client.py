"""The rep's Slack client, as the sandbox page plays it.

It keeps what a Slack client keeps — the DM with Convene in order (ephemeral answers included,
replaced when a response_url says so), the open modal, the Home tab — and turns the page's
clicks into the payloads Slack would send: slash commands, block actions, view submissions,
app_home_opened. What the app sends back arrives the way it does in Slack: in the HTTP answer
(an ack's text, a modal's errors), at a response_url, or through the Web API, all recorded by
the local Slack stand-in.
"""

from __future__ import annotations

import itertools
import json
import threading
from dataclasses import dataclass, field
from typing import Any

from bot.sandbox.seed import REP, TEAM
from bot.sandbox.world import World
from bot.slack_requests import (
    Reply,
    app_home_opened,
    block_actions,
    slash_command,
    view_submission,
)

HOME_VIEW_ID = "VHOME"


@dataclass
class Entry:
    """One line of the DM: what the rep typed, an answer only they see, or a posted message."""

    id: int
    kind: str  # "typed" | "ephemeral" | "message"
    text: str = ""
    blocks: list[dict[str, Any]] = field(default_factory=list)
    channel: str = ""
    ts: str = ""  # a posted message's; its current blocks are the stand-in's
    version: int = 0


@dataclass
class SlackClient:
    world: World
    user_id: str = REP.slack_id
    entries: list[Entry] = field(default_factory=list)
    modal: dict[str, Any] | None = None
    modal_errors: dict[str, str] = field(default_factory=dict)
    _hooks: dict[str, int] = field(default_factory=dict)  # response_url name -> entry id
    _seen_responses: int = 0
    _seen_messages: int = 0
    _seen_modals: int = 0
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _hook_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _lock: threading.RLock = field(default_factory=threading.RLock)

    @property
    def dm_channel(self) -> str:
        return "D" + self.user_id

    @property
    def names(self) -> dict[str, str]:
        return {p.slack_id: p.name for p in TEAM}

    # --- what the rep sees ------------------------------------------------------------------

    def refresh(self) -> None:
        """Take in what the app sent since the last look: posts, updates, responses, modals."""
        slack = self.world.slack
        # The stand-in only appends to these lists, so a slice is a consistent snapshot.
        with self._lock:
            messages = slack.messages[self._seen_messages :]
            self._seen_messages += len(messages)
            for message in messages:
                if message.channel == self.dm_channel:
                    self._add("message", channel=message.channel, ts=message.ts)
            responses = slack.responses[self._seen_responses :]
            self._seen_responses += len(responses)
            modals = slack.modals[self._seen_modals :]
            self._seen_modals += len(modals)
        for response in responses:
            self._respond(response)
        if modals:
            self.modal, self.modal_errors = modals[-1], {}

    def message(self, entry: Entry) -> tuple[str, list[dict[str, Any]]]:
        """The entry as it reads now (a posted message may have been updated since)."""
        if entry.kind == "message" and not (entry.blocks or entry.text):
            # Not replaced through a response_url: the stand-in holds its latest chat.update.
            posted = self.world.slack.message(entry.channel, entry.ts)
            return posted.text, posted.blocks
        return entry.text, entry.blocks

    def home(self) -> dict[str, Any] | None:
        return self.world.slack.home_views.get(self.user_id)

    # --- what the rep does ------------------------------------------------------------------

    def command(self, text: str) -> Reply:
        """`/schedule …` typed in the DM: the command, and the ack's answer when it has one."""
        with self._lock:
            self._add("typed", text=f"/schedule {text}".rstrip())
            hook = self._hook(None)
        reply = self.world.send(
            slash_command(
                text=text,
                user_id=self.user_id,
                team_id=self.world.team_id,
                response_url=self.world.slack.hook_url(hook),
                trigger_id=f"{hook}.trigger",
                channel_id=self.dm_channel,
            )
        )
        self._answer(reply.body, None)
        return reply

    def act(self, *, entry_id: int, action: dict[str, Any], state: dict[str, Any]) -> Reply:
        """A click, pick or tick on a message of the DM."""
        with self._lock:
            entry = next(e for e in self.entries if e.id == entry_id)
            text, blocks = self.message(entry)
            hook = self._hook(entry_id)
        ts = entry.ts or f"ephemeral-{entry.id}"
        reply = self.world.send(
            block_actions(
                action=action,
                user_id=self.user_id,
                team_id=self.world.team_id,
                container={
                    "type": "message",
                    "message_ts": ts,
                    "channel_id": self.dm_channel,
                    "is_ephemeral": entry.kind == "ephemeral",
                },
                channel_id=self.dm_channel,
                response_url=self.world.slack.hook_url(hook),
                message={"ts": ts, "text": text, "blocks": blocks},
                state=state,
            )
        )
        return reply

    def act_in_view(
        self, *, view: dict[str, Any], action: dict[str, Any], state: dict[str, Any]
    ) -> Reply:
        """A click in the open modal or on the Home tab."""
        return self.world.send(
            block_actions(
                action=action,
                user_id=self.user_id,
                team_id=self.world.team_id,
                container={"type": "view", "view_id": view.get("id", "")},
                view={**view, "state": {"values": state}},
                state=state,
            )
        )

    def submit(self, values: dict[str, Any]) -> Reply:
        """Submit the open modal; its answer may close it, replace it or name bad fields."""
        view = self.modal
        if view is None:
            raise LookupError("no modal is open")
        reply = self.world.send(
            view_submission(
                view=view, values=values, user_id=self.user_id, team_id=self.world.team_id
            )
        )
        answer = _json(reply.body)
        action = answer.get("response_action") if reply.status == 200 else None
        with self._lock:
            if reply.status != 200:
                self.modal_errors = {"": f"Slack would show an error (HTTP {reply.status})"}
            elif action == "errors":
                self.modal_errors = dict(answer.get("errors") or {})
            elif action in ("update", "push"):
                self.modal, self.modal_errors = answer["view"], {}
            elif self.modal is view:
                self.modal, self.modal_errors = None, {}
        return reply

    def close_modal(self) -> None:
        with self._lock:
            self.modal, self.modal_errors = None, {}

    def open_home(self) -> Reply:
        return self.world.send(app_home_opened(user_id=self.user_id, team_id=self.world.team_id))

    def home_view(self) -> dict[str, Any] | None:
        view = self.home()
        return None if view is None else {"id": HOME_VIEW_ID, **view}

    # --- bookkeeping ------------------------------------------------------------------------

    def _add(self, kind: str, **fields: Any) -> Entry:
        entry = Entry(id=next(self._ids), kind=kind, **fields)
        self.entries.append(entry)
        return entry

    def _hook(self, entry_id: int | None) -> str:
        name = f"sandbox-{next(self._hook_ids)}"
        if entry_id is not None:
            self._hooks[name] = entry_id
        return name

    def _answer(self, body: str, owner: int | None) -> None:
        """An ack's body is shown like a response to the same request."""
        if not body.strip():
            return
        answer = _json(body) or {"text": body}
        self._respond({**answer, "hook": None, "_owner": owner})

    def _respond(self, response: dict[str, Any]) -> None:
        owner_id = response.get("_owner", self._hooks.get(str(response.get("hook"))))
        with self._lock:
            owner = next((e for e in self.entries if e.id == owner_id), None)
            if owner is not None and _flag(response.get("delete_original")):
                self.entries.remove(owner)
            elif owner is not None and _flag(response.get("replace_original")):
                owner.text = str(response.get("text") or "")
                owner.blocks = list(response.get("blocks") or [])
                owner.version += 1
            else:
                self._add(
                    "ephemeral",
                    text=str(response.get("text") or ""),
                    blocks=list(response.get("blocks") or []),
                )


def _flag(value: Any) -> bool:
    return value is True or value == "true"


def _json(body: str) -> dict[str, Any]:
    try:
        answer = json.loads(body)
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}
