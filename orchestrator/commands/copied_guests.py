"""The rep adds someone the prospect copied on a reply (orchestrator.copied) to the meeting.

Before the booking, they join the request as an optional guest, and a booking draft already
waiting for approval invites them too. Once the meeting is booked, an updated invite is drafted
for the rep to approve (`steps.copied.invite_copied`): nothing reaches them before that.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from db.audit import record_action
from db.models import (
    BOOKED_STATUSES,
    FINISHED_STATUSES,
    ActionStatus,
    ActionType,
    EmailMessage,
    PendingAction,
    Rep,
    SchedulingAttendee,
    SchedulingRequest,
)
from orchestrator.copied import copied_candidates
from orchestrator.deps import Deps
from orchestrator.engine.dispatch import dispatch
from orchestrator.engine.event_types import EventType, RecipientDecided
from orchestrator.engine.events import Event
from orchestrator.mrkdwn import escape_mrkdwn, owner_only
from orchestrator.negotiation import negotiation

CALENDAR_DRAFTS = (ActionType.calendar_book, ActionType.calendar_update)
# Approved and in its undo window, or being sent: too late to change, too early to update.
ON_ITS_WAY = (ActionStatus.approved, ActionStatus.executing)
BOOKING_ON_ITS_WAY = (
    "The booking is being sent right now, so nobody was added. Press Add again once it is on "
    "the calendar: an updated invite is drafted then."
)


@dataclass(frozen=True)
class Added:
    ok: bool
    message: str
    amended: list[uuid.UUID] = field(default_factory=list)  # booking drafts whose card to redraw


def add_copied(
    deps: Deps,
    *,
    org_id: str,
    request_id: uuid.UUID,
    email_message_id: uuid.UUID,
    index: int,
    slack_user_id: str,
) -> Added:
    now = deps.clock.now()
    with deps.uow() as uow:
        session = uow.session
        request = session.get(SchedulingRequest, request_id)
        row = session.get(EmailMessage, email_message_id)
        if (
            request is None
            or request.org_id != org_id
            or row is None
            or row.request_id != request.id
            or row.direction != "inbound"
        ):
            return Added(False, "That request or email no longer exists.")
        rep = session.get_one(Rep, request.rep_id)
        if not rep.allows(slack_user_id):
            return Added(False, owner_only(rep.slack_user_id))
        attendees = list(
            session.exec(
                select(SchedulingAttendee).where(SchedulingAttendee.request_id == request.id)
            ).all()
        )
        address = dict(copied_candidates(row, rep, attendees)).get(index)
        if address is None:
            return Added(False, "They are already on the request, or were not on that email.")
        if request.status in FINISHED_STATUSES:
            return Added(False, f"{escape_mrkdwn(request.ref)} is {request.status}: nobody added.")
        state = negotiation(session, request)
        bookings = state.drafts_of(*CALENDAR_DRAFTS)
        if any(draft.status in ON_ITS_WAY for draft in bookings):
            # Neither the draft (no longer editable) nor the event (not there yet) can take them.
            return Added(False, BOOKING_ON_ITS_WAY)
        shown = escape_mrkdwn(address)
        booked = request.status in BOOKED_STATUSES and state.meeting is not None
        if not booked:
            waiting = [draft for draft in bookings if draft.status == ActionStatus.pending]
            _join(session, request, address, slack_user_id=slack_user_id, now=now)
            amended = _invite_too(session, waiting, address, now=now)
            uow.commit()
    if booked:
        dispatch(
            deps,
            Event(
                type=EventType.copied_added,
                org_id=org_id,
                idempotency_key=f"copied:{email_message_id}:{index}",
                source="slack",
                rep_id=request.rep_id,
                request_id=request_id,
                payload=RecipientDecided(
                    email_message_id=str(email_message_id),
                    address=address,
                    name="",
                    decided_by=slack_user_id,
                ),
            ),
        )
        return Added(True, f"Adding {shown}: an updated invite waits for your approval.")
    said = f"{shown} is on {escape_mrkdwn(request.ref)} as an optional guest (<@{slack_user_id}>)."
    if amended:
        said += " The booking waiting for your approval invites them too."
    return Added(True, said, amended)


def _join(
    session: Session,
    request: SchedulingRequest,
    address: str,
    *,
    slack_user_id: str,
    now: datetime,
) -> None:
    """Add them to the request as an optional guest."""
    session.add(
        SchedulingAttendee(
            org_id=request.org_id,
            request_id=request.id,
            side="external",
            required=False,
            email=address,
            created_at=now,
        )
    )
    record_action(
        session,
        org_id=request.org_id,
        request_id=request.id,
        kind="attendee_added",
        actor="user",
        now=now,
        reasoning=f"copied on their reply; added by <@{slack_user_id}>",
        details={"email": address, "optional": True},
    )


def _invite_too(
    session: Session, waiting: list[PendingAction], address: str, *, now: datetime
) -> list[uuid.UUID]:
    """Add them to each booking draft still waiting for the rep; the ones amended."""
    amended = []
    for draft in waiting:
        # The draft's own guest list (not the rep's edits: they wrote no words here); a newer
        # version, so an Edit modal opened before this cannot save over it.
        guests = [*draft.action_data.get("attendees", []), {"email": address, "optional": True}]
        won = session.execute(
            update(PendingAction)
            .where(col(PendingAction.id) == draft.id)
            .where(col(PendingAction.status) == ActionStatus.pending)
            .values(
                action_data={**draft.action_data, "attendees": guests},
                draft_version=col(PendingAction.draft_version) + 1,
                updated_at=now,
            )
        ).rowcount  # type: ignore[attr-defined]
        if won == 1:
            amended.append(draft.id)
    return amended
