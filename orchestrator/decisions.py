"""Decision cards (seed 003 "waiting for decision"): what the rep is asked, and their answer.

When `assess` finds that a request needs the rep (a decline, something unusual, rejections
that persisted, a conflict), `tell_rep` posts a card with the choices for that subtype. The
rep's click is applied here exactly once: a conditional UPDATE moves the request out of
`waiting_for_decision`, so a second click (or a colleague's) finds nothing left to decide.
Choices that need a draft start the `decision_made` sequence; the draft then waits for
Approve like every other email or invite.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from db.audit import record_action
from db.models import EmailMessage, Rep, SchedulingRequest
from orchestrator import requests
from orchestrator.bootstrap import Deps
from orchestrator.dispatch import dispatch
from orchestrator.events import Event
from orchestrator.mrkdwn import owner_only
from skills.decide import EVENT_TYPE, EventSubtype

# The buttons each decision offers, in the order shown.
CHOICES: dict[str, tuple[str, ...]] = {
    "get_alternatives": ("offer_times", "keep_open", "handle_myself", "cancel_request"),
    "reschedule": ("book_slot", "offer_times", "handle_myself"),
    "resolve_conflict": ("book_slot", "offer_times", "handle_myself"),
    "recommend_cancel": ("cancel_request", "keep_open", "handle_myself"),
    "unusual": ("clarify", "offer_times", "keep_open", "handle_myself", "cancel_request"),
}
LABELS = {
    "offer_times": "Offer fresh times",
    "book_slot": "Book the selected time",
    "clarify": "Ask them to clarify",
    "keep_open": "Keep it open",
    "handle_myself": "I'll handle this",
    "cancel_request": "Cancel the request",
}
# Choices that need a draft (run by the `decision_made` sequence).
DRAFTING = {"offer_times", "book_slot", "clarify"}


@dataclass(frozen=True)
class Option:
    slot: datetime
    attendees: tuple[str, ...]
    fits_all: bool


@dataclass(frozen=True)
class DecisionView:
    """Everything a decision card shows."""

    request_id: str
    ref: str
    title: str
    subtype: str
    summary: str
    reasons: tuple[str, ...]
    options: tuple[Option, ...]
    choices: tuple[str, ...]
    rep_timezone: str
    reply: str  # the rep's reply summary, already escaped mrkdwn


@dataclass(frozen=True)
class Resolution:
    ok: bool
    message: str


def decision_view(
    request: SchedulingRequest, rep: Rep, decision: dict[str, Any], *, reply: str
) -> DecisionView:
    """The card for the `assess` step's output (`orchestrator.steps.assess.decision_output`)."""
    subtype = decision["subtype"]
    return DecisionView(
        request_id=str(request.id),
        ref=request.ref,
        title=request.title,
        subtype=subtype,
        summary=decision.get("summary") or "",
        reasons=tuple(decision.get("reasons") or ()),
        options=tuple(
            Option(datetime.fromisoformat(a["slot"]), tuple(a["attendees"]), a["fits_all"])
            for a in decision.get("alternatives") or ()
        ),
        choices=CHOICES.get(subtype, ("handle_myself",)),
        rep_timezone=rep.timezone,
        reply=reply,
    )


def _after(choice: str, current: str) -> EventSubtype:
    """The event subtype a choice leads to."""
    if choice == "book_slot":
        return "all_confirmed"
    if choice == "cancel_request":
        return "cancelled"
    if choice == "offer_times" and current in ("get_alternatives", "resolve_conflict"):
        # Seed 003: gather everyone's alternatives before deciding again.
        return "getting_alternatives"
    return "collecting_responses"


def resolve(
    deps: Deps,
    *,
    request_id: uuid.UUID,
    choice: str,
    slack_user_id: str,
    slot: datetime | None = None,
) -> Resolution:
    """Apply the rep's choice once; anything else is told why nothing happened."""
    now = deps.clock.now()
    with deps.uow() as uow:
        session = uow.session
        request = session.get(SchedulingRequest, request_id)
        if request is None:
            return Resolution(False, "That request no longer exists.")
        rep = session.get_one(Rep, request.rep_id)
        if not rep.allows(slack_user_id):
            return Resolution(False, owner_only(rep.slack_user_id))
        current = request.event_next_action_subtype or ""
        if choice not in CHOICES.get(current, ()) or request.event_next_action != (
            "waiting_for_decision"
        ):
            return Resolution(False, f"Already decided: {request.ref} is no longer waiting on you.")
        if choice == "book_slot" and slot is None:
            return Resolution(False, "Pick one of the times first, then press Book.")
        after = _after(choice, current)
        won = session.execute(
            update(SchedulingRequest)
            .where(col(SchedulingRequest.id) == request_id)
            .where(col(SchedulingRequest.event_next_action) == "waiting_for_decision")
            .where(col(SchedulingRequest.event_next_action_subtype) == current)
            .values(
                event_next_action=EVENT_TYPE[after],
                event_next_action_subtype=after,
                updated_at=now,
            )
        ).rowcount  # type: ignore[attr-defined]
        if won != 1:
            return Resolution(False, f"Already decided: {request.ref} is no longer waiting on you.")
        record = record_action(
            session,
            org_id=request.org_id,
            request_id=request.id,
            kind="decision_made",
            actor="user",
            reasoning=f"{LABELS[choice]} by <@{slack_user_id}>",
            details={"decision": current, "choice": choice, "slot": slot and slot.isoformat()},
            now=now,
        )
        latest = _latest_reply(session, request)
        org_id, ref, rep_id = request.org_id, request.ref, request.rep_id
        uow.commit()
    if choice == "cancel_request":
        outcome = requests.cancel(deps, org_id=org_id, ref=ref, slack_user_id=slack_user_id)
        return Resolution(outcome.ok, outcome.message)
    if choice == "handle_myself":
        outcome = requests.pause(deps, org_id=org_id, ref=ref, slack_user_id=slack_user_id)
        return Resolution(True, f"Over to you. {outcome.message}")
    if choice == "keep_open":
        return Resolution(True, f"{ref} stays open; follow-ups continue as planned.")
    dispatch(
        deps,
        Event(
            type="decision_made",
            org_id=org_id,
            idempotency_key=f"decision:{record.id}",
            source="slack",
            rep_id=rep_id,
            request_id=request_id,
            payload={
                "choice": choice,
                "slot": slot.isoformat() if slot else None,
                "email_message_id": latest,
            },
        ),
    )
    return Resolution(True, f"{LABELS[choice]}: a draft for {ref} is on its way for your approval.")


def _latest_reply(session: Session, request: SchedulingRequest) -> str | None:
    """The prospect's newest email on the request: drafts answer in its thread."""
    row = session.exec(
        select(EmailMessage.id)
        .where(EmailMessage.request_id == request.id)
        .where(EmailMessage.direction == "inbound")
        .order_by(col(EmailMessage.created_at).desc())
    ).first()
    return str(row) if row else None
