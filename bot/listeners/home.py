"""The Home tab: the rep's dashboard, rebuilt from the database each time it is opened, and the
buttons on its rows (Status, Review, Pause / Resume).

A click on the Home tab carries no response_url, so refusals and notes go to the clicker's DM;
after Pause or Resume the tab is republished so it shows the change."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from sqlmodel import Session, col, or_, select

from bot.batch_blocks import MAX_ITEMS
from bot.listeners.review import post_batch
from bot.views import home_view, request_status, status_modal
from db.models import ActionStatus, PendingAction, Rep, SchedulingRequest
from orchestrator.commands import own_requests
from orchestrator.commands.dashboard import dashboard_for
from orchestrator.deps import Deps
from orchestrator.mrkdwn import escape_mrkdwn, owner_only
from orchestrator.outbox.approval_cards import action_view
from orchestrator.views import ActionView


def publish_home(deps: Deps, client: WebClient, *, org_id: str, slack_user_id: str) -> None:
    board = dashboard_for(deps, org_id=org_id, slack_user_id=slack_user_id)
    client.views_publish(user_id=slack_user_id, view=home_view(board))


def _dm(client: WebClient, slack_user_id: str, text: str) -> None:
    channel = client.conversations_open(users=[slack_user_id])["channel"]["id"]
    client.chat_postMessage(channel=channel, text=text)


def _owned(
    session: Session, *, org_id: str, ref: str, slack_user_id: str
) -> tuple[SchedulingRequest | None, str]:
    """The request a Home button names, or why the clicker may not act on it."""
    request = own_requests.by_ref(session, org_id=org_id, ref=ref)
    if request is None:
        return None, f"I can't find `{escape_mrkdwn(ref)}`. `/schedule list` shows yours."
    rep = session.get_one(Rep, request.rep_id)
    if not rep.allows(slack_user_id):
        return None, owner_only(rep.slack_user_id)
    return request, ""


def _waiting_drafts(
    session: Session, request: SchedulingRequest, *, now: datetime
) -> list[ActionView]:
    drafts = session.exec(
        select(PendingAction)
        .where(PendingAction.request_id == request.id)
        .where(col(PendingAction.status) == ActionStatus.pending)
        .where(or_(col(PendingAction.expires_at).is_(None), col(PendingAction.expires_at) > now))
        .order_by(col(PendingAction.created_at))
        .limit(MAX_ITEMS)
    ).all()
    return [action_view(session, draft) for draft in drafts]


def _who(body: dict[str, Any]) -> tuple[str, str]:
    return body["team"]["id"], body["user"]["id"]


def register(app: App, deps: Deps) -> None:
    @app.event("app_home_opened")
    def home(event: dict[str, Any], body: dict[str, Any], client: WebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        publish_home(deps, client, org_id=body["team_id"], slack_user_id=event["user"])

    @app.action("home_status")
    def status(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        org_id, user = _who(body)
        blocks: list[dict[str, Any]] = []
        with deps.uow() as uow:
            request, problem = _owned(
                uow.session, org_id=org_id, ref=action["value"], slack_user_id=user
            )
            if request is not None:
                rep = uow.session.get_one(Rep, request.rep_id)
                _, blocks = request_status(
                    request,
                    own_requests.attendees_of(uow.session, request),
                    own_requests.recent_activity(uow.session, request),
                    rep.timezone,
                )
        if request is None:
            _dm(client, user, problem)
            return
        # A modal rather than a DM: the rep stays on the Home tab and nothing piles up in the
        # DM history for a look-up. The click's trigger_id is fresh and the status is a handful
        # of blocks, well inside a modal's limit.
        client.views_open(trigger_id=body["trigger_id"], view=status_modal(request.ref, blocks))

    @app.action("home_review")
    def review(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        org_id, user = _who(body)
        with deps.uow() as uow:
            request, problem = _owned(
                uow.session, org_id=org_id, ref=action["value"], slack_user_id=user
            )
            views = _waiting_drafts(uow.session, request, now=deps.clock.now()) if request else []
        if request is None:
            _dm(client, user, problem)
            return
        if not views:  # decided since the tab was drawn
            _dm(client, user, f"Nothing from {escape_mrkdwn(request.ref)} is waiting for you.")
            publish_home(deps, client, org_id=org_id, slack_user_id=user)
            return
        # The batch card's Approve / Skip work like everywhere else (ownership, undo window).
        post_batch(deps, slack_user_id=user, views=views, more=0)

    def state_change(change: Callable[..., own_requests.Outcome]) -> Callable[..., None]:
        def handle(
            ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient
        ) -> None:
            ack()
            org_id, user = _who(body)
            with deps.uow() as uow:
                _, problem = _owned(
                    uow.session, org_id=org_id, ref=action["value"], slack_user_id=user
                )
            if problem:
                _dm(client, user, problem)
                return
            outcome = change(deps, org_id=org_id, ref=action["value"], slack_user_id=user)
            if not outcome.ok:  # e.g. paused from `/schedule` since the tab was drawn
                _dm(client, user, f":warning: {outcome.message}")
            publish_home(deps, client, org_id=org_id, slack_user_id=user)

        return handle

    app.action("home_pause")(state_change(own_requests.pause))
    app.action("home_resume")(state_change(own_requests.resume))
