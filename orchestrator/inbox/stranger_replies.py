"""Replies on a request's thread from someone who is not on the request.

Anyone the thread reaches can reply on it: a colleague of the prospect, a forwarding relay, a
stranger who was sent a copy. Their text is not the prospect's answer, so intake understands,
drafts and sends nothing because of it. The rep gets a card with the text and one button,
"Treat as the prospect's reply", which hands the message to the same ``email_received``
sequence a prospect's reply starts; whatever that drafts goes to the request's attendees (never
to the sender, who is not one) and waits for Approve like every other email.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import update
from sqlmodel import Session, col

from db.audit import record_action
from db.models import FINISHED_STATUSES, EmailMessage, Rep, SchedulingRequest
from orchestrator.deps import Deps
from orchestrator.engine.dispatch import insert_job
from orchestrator.inbox.records import reply_received
from orchestrator.mrkdwn import escape_mrkdwn, owner_only, quote_mrkdwn
from orchestrator.notices.gate import post_once
from orchestrator.notices.post import post_notice
from skills.email_text import clean_body
from skills.read_email import InboundEmail

log = structlog.get_logger(__name__)

HELD = "held"  # the inbound row's status until the rep chooses
ACTION_ID = "take_stranger_reply"
BUTTON = "Treat as the prospect's reply"
KIND = "stranger_reply"


@dataclass(frozen=True)
class Taken:
    ok: bool
    message: str


def hold_stranger_reply(
    session: Session,
    *,
    request: SchedulingRequest,
    row_id: uuid.UUID,
    email: InboundEmail,
    now: datetime,
) -> Callable[[Deps], None]:
    """Park the inbound row (in the caller's transaction); returns what posts the card once
    that transaction has committed."""
    session.execute(update(EmailMessage).where(col(EmailMessage.id) == row_id).values(status=HELD))
    text = notice_text(request, email)

    def post(deps: Deps) -> None:
        post_card(deps, rep_id=request.rep_id, row_id=row_id, text=text)

    return post


def notice_text(request: SchedulingRequest, email: InboundEmail) -> str:
    return (
        f":busts_in_silhouette: *{escape_mrkdwn(request.ref)}* · someone else "
        f"({escape_mrkdwn(email.sender or 'no sender address')}) replied on this thread. "
        "They are not on the request, so Convene did not take it as the prospect's answer "
        f"and nothing was drafted or sent.\n{quote_mrkdwn(clean_body(email.text))}"
    )


def card_blocks(text: str, row_id: uuid.UUID) -> list[dict[str, Any]]:
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": text[:2900]}},
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": ACTION_ID,
                    "text": {"type": "plain_text", "text": BUTTON},
                    "value": str(row_id),
                }
            ],
        },
    ]


def post_card(deps: Deps, *, rep_id: uuid.UUID, row_id: uuid.UUID, text: str) -> None:
    """The card, once per message. A card that cannot be posted becomes a plain notice,
    which the clock keeps retrying, so the rep always hears of the reply."""
    try:
        with deps.uow() as uow:
            rep = uow.session.get_one(Rep, rep_id)
            channel = deps.chat.open_dm(user_id=rep.slack_user_id)
            if post_once(
                uow.session,
                deps.chat,
                rep=rep,
                kind=KIND,
                dedupe_key=f"{KIND}:{row_id}",
                channel=channel,
                now=deps.clock.now(),
                text=text,
                blocks=card_blocks(text, row_id),
            ):
                uow.commit()
    except Exception as exc:  # noqa: BLE001 - falls back to a notice below
        log.warning("stranger_reply_card_failed", rep_id=str(rep_id), error=repr(exc))
        post_notice(deps.notices, rep_id=rep_id, text=text)


def take_as_reply(deps: Deps, *, email_message_id: uuid.UUID, slack_user_id: str) -> Taken:
    """The rep's click: the held message starts the reply sequence, exactly once."""
    now = deps.clock.now()
    with deps.uow() as uow:
        session = uow.session
        row = session.get(EmailMessage, email_message_id)
        request = session.get(SchedulingRequest, row.request_id) if row and row.request_id else None
        if row is None or request is None:
            return Taken(False, "That email is no longer on a request.")
        rep = session.get_one(Rep, request.rep_id)
        if not rep.allows(slack_user_id):
            return Taken(False, owner_only(rep.slack_user_id))
        if request.status in FINISHED_STATUSES:
            return Taken(False, f"{request.ref} is {request.status}; there is nothing to answer.")
        won = session.execute(
            update(EmailMessage)
            .where(col(EmailMessage.id) == row.id, col(EmailMessage.status) == HELD)
            .values(status="received")
        )
        if won.rowcount != 1:  # type: ignore[attr-defined]
            return Taken(False, "Already done: that reply was handed on before.")
        event = reply_received(
            request, provider_id=row.provider_message_id, row_id=row.id, matched_by="rep"
        )
        job, created = insert_job(session, event, now=now)
        record_action(
            session,
            org_id=request.org_id,
            request_id=request.id,
            kind="stranger_reply_taken",
            actor="user",
            reasoning="the rep treated it as the prospect's reply",
            details={"email_message_id": str(row.id), "from": row.sender, "by": slack_user_id},
            now=now,
        )
        uow.commit()
    if created:
        deps.wakeups.run_step(job.id, tag="0-0")
    return Taken(True, "Convene is reading it as the prospect's reply; any draft waits for you.")
