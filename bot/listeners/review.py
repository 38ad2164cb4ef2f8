"""Batch review (seed 002 Pattern 3): `/schedule review` and the brief's "Review all" post one
message listing the rep's waiting drafts. Approve goes through the outbox exactly like the
approval card's button (ownership check, undo window); Skip only takes a draft off this list."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from sqlmodel import Session, col, or_, select

from bot.batch_blocks import MAX_ITEMS, approve_all_note, batch_card, batch_members
from db.models import ActionStatus, PendingAction, Rep
from orchestrator.commands import own_requests
from orchestrator.deps import Deps
from orchestrator.mrkdwn import owner_only
from orchestrator.outbox.approval_cards import action_view, refresh_card
from orchestrator.outbox.decisions import decide
from orchestrator.views import ActionView

APPROVE = re.compile(r"^batch_approve:\d+$")
SKIP = re.compile(r"^batch_skip:\d+$")
NOTHING = "Nothing is waiting for your approval."


def _waiting(session: Session, rep: Rep, *, now: datetime) -> list[PendingAction]:
    return list(
        session.exec(
            select(PendingAction)
            .where(PendingAction.rep_id == rep.id)
            .where(PendingAction.status == ActionStatus.pending)
            .where(
                or_(col(PendingAction.expires_at).is_(None), col(PendingAction.expires_at) > now)
            )
            .order_by(col(PendingAction.created_at))
        )
    )


def waiting_for(deps: Deps, *, org_id: str, slack_user_id: str) -> tuple[list[ActionView], int]:
    """The clicker's own waiting drafts, oldest first: (those that fit a card, how many more)."""
    with deps.uow() as uow:
        rep = own_requests.find_rep(uow.session, org_id=org_id, slack_user_id=slack_user_id)
        if rep is None:
            return [], 0
        rows = _waiting(uow.session, rep, now=deps.clock.now())
        views = [action_view(uow.session, a) for a in rows[:MAX_ITEMS]]
    return views, max(0, len(rows) - MAX_ITEMS)


def _views(deps: Deps, ids: Sequence[str]) -> list[ActionView]:
    with deps.uow() as uow:
        actions = [uow.session.get(PendingAction, uuid.UUID(i)) for i in ids]
        return [action_view(uow.session, a) for a in actions if a is not None]


def post_batch(deps: Deps, *, slack_user_id: str, views: list[ActionView], more: int) -> str:
    """DM the batch card; returns the DM channel."""
    client = deps.slack_client
    channel = str(client.conversations_open(users=[slack_user_id])["channel"]["id"])
    text, blocks = batch_card(views, more=more)
    client.chat_postMessage(channel=channel, text=text, blocks=blocks)
    return channel


def review_command(
    deps: Deps, command: dict[str, Any], rest: str, ack: Ack, respond: Respond
) -> None:
    views, more = waiting_for(deps, org_id=command["team_id"], slack_user_id=command["user_id"])
    if not views:
        ack(text=NOTHING, response_type="ephemeral")
        return
    ack()
    channel = post_batch(deps, slack_user_id=command["user_id"], views=views, more=more)
    if command.get("channel_id") != channel:
        respond(text="Your drafts are in our DM, ready to review.", response_type="ephemeral")


def _may_decide(deps: Deps, action_id: uuid.UUID, slack_user_id: str) -> str:
    """Why the clicker may not touch this draft, or ''."""
    with deps.uow() as uow:
        action = uow.session.get(PendingAction, action_id)
        if action is None:
            return "That draft no longer exists."
        rep = uow.session.get_one(Rep, action.rep_id)
        if not rep.allows(slack_user_id):
            return owner_only(rep.slack_user_id)
    return ""


def _members(body: dict[str, Any]) -> tuple[list[str], int]:
    return batch_members((body.get("message") or {}).get("blocks") or [])


def _redraw(
    client: WebClient, body: dict[str, Any], views: list[ActionView], more: int, note: str = ""
) -> None:
    text, blocks = batch_card(views, more=more, note=note)
    container = body["container"]
    client.chat_update(
        channel=container["channel_id"], ts=container["message_ts"], text=text, blocks=blocks
    )


def _tell(respond: Respond, text: str) -> None:
    respond(text=text, replace_original=False, response_type="ephemeral")


def register(app: App, deps: Deps) -> None:
    @app.action(APPROVE)
    def approve(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, respond: Respond
    ) -> None:
        ack()
        outcome = decide(
            deps,
            action_id=uuid.UUID(action["value"]),
            decision="approve",
            slack_user_id=body["user"]["id"],
        )
        if outcome.ok and outcome.action is not None:
            refresh_card(deps, outcome.action.id)  # its own card shows the undo window
        else:
            _tell(respond, outcome.message)
        ids, more = _members(body)
        _redraw(client, body, _views(deps, ids), more)

    @app.action(SKIP)
    def skip(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, respond: Respond
    ) -> None:
        ack()
        problem = _may_decide(deps, uuid.UUID(action["value"]), body["user"]["id"])
        if problem:
            _tell(respond, problem)
            return
        ids, more = _members(body)
        _redraw(client, body, _views(deps, [i for i in ids if i != action["value"]]), more)

    @app.action("batch_approve_all")
    def approve_all(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        ids, more = _members(body)
        approved = already = refused = 0
        for view in _views(deps, ids):
            if view.status != ActionStatus.pending:
                already += 1
                continue
            outcome = decide(
                deps,
                action_id=uuid.UUID(view.action_id),
                decision="approve",
                slack_user_id=body["user"]["id"],
            )
            if outcome.ok and outcome.action is not None:
                approved += 1
                refresh_card(deps, outcome.action.id)
            elif outcome.status == ActionStatus.pending:
                refused += 1  # not theirs, or expired: still waiting for its owner
            else:
                already += 1  # decided elsewhere between our read and our click
        note = approve_all_note(approved, already, refused)
        _redraw(client, body, _views(deps, ids), more, note)

    @app.action("review_all")
    def review_all(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        user = body["user"]["id"]
        views, more = waiting_for(deps, org_id=body["team"]["id"], slack_user_id=user)
        if not views:
            _tell(respond, NOTHING)
            return
        post_batch(deps, slack_user_id=user, views=views, more=more)
