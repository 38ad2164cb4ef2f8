"""A hand-over the rep confirmed: add the person the reply named, then a note to them.

The reply's address only became a candidate; the rep's click on the card that showed it
(`commands.decision_cards.confirm_recipient`) starts `recipient_confirmed`. The person joins
the request for the note that introduces us, so a note the rep rejects (or undoes, or lets expire)
takes them off again: the request is left with the people it had before the click.
"""

from __future__ import annotations

from dataclasses import replace

from db.models import (
    BOOKED_STATUSES,
    NEGOTIATING_STATUSES,
    ActionStatus,
    ActionType,
    SchedulingAttendee,
    SequenceJob,
)
from orchestrator.engine.event_types import RecipientDecided, payload
from orchestrator.engine.events import StepContext, StepResult
from orchestrator.outbox import recipients
from orchestrator.steps import negotiate
from orchestrator.steps.offers import load_reply
from orchestrator.steps.respond import delegate_note
from orchestrator.steps.scheduling import audit, job_actions, load_request

# The rep never let the note go out; the person they named goes back off the request.
NOT_SENT = {
    ActionStatus.rejected,
    ActionStatus.cancelled,
    ActionStatus.expired,
    ActionStatus.superseded,
}


def add_confirmed(job: SequenceJob, ctx: StepContext) -> StepResult:
    decided = payload(job, RecipientDecided)
    reply = load_reply(job, ctx)
    if reply.request.status not in NEGOTIATING_STATUSES | BOOKED_STATUSES:
        return StepResult(output={"added": False, "why": reply.request.status}, stop=True)
    address, by = decided.address, decided.decided_by
    delegate = recipients.attendee(address, reply.attendees)
    added = delegate is None
    if delegate is None:
        referrer = reply.sender
        delegate = SchedulingAttendee(
            org_id=reply.request.org_id,
            request_id=reply.request.id,
            side="external",
            required=True,
            email=address,
            name=decided.name,
            timezone=referrer.timezone if referrer else None,
            created_at=ctx.now,
        )
        ctx.session.add(delegate)
        audit(
            ctx,
            reply.request,
            "attendee_added",
            f"named by {reply.inbound.sender}, confirmed by <@{by}>",
            email=address,
        )
    reply = replace(reply, attendees=[*reply.attendees, delegate] if added else reply.attendees)
    return StepResult(
        output={"delegate": delegate.email, "added": added},
        actions=[delegate_note(reply, delegate)],
    )


def record_outcome(job: SequenceJob, ctx: StepContext) -> StepResult:
    """The note went out: as any reply of ours. It did not: the person leaves the request."""
    result = negotiate.record_reply_outcome(job, ctx)
    drafted = job.outputs.get("respond") or {}
    note = ctx.session.exec(job_actions(job, ActionType.email_response)).first()
    if drafted.get("added") and note is not None and note.status in NOT_SENT:
        request, _, attendees = load_request(ctx.session, job)
        if (added := recipients.attendee(drafted["delegate"], attendees)) is not None:
            ctx.session.delete(added)
        audit(
            ctx,
            request,
            "attendee_removed",
            f"the note to them was {note.status}",
            email=drafted["delegate"],
        )
        assert isinstance(result.output, dict)  # record_reply_outcome's is a plain record
        result.output["removed"] = drafted["delegate"]
    return result


def record_declined(job: SequenceJob, ctx: StepContext) -> StepResult:
    request, _, _ = load_request(ctx.session, job)
    decided = payload(job, RecipientDecided)
    audit(
        ctx,
        request,
        "recipient_declined",
        f"<@{decided.decided_by}> chose not to add them",
        email=decided.address,
    )
    return StepResult(output={"declined": decided.address})
