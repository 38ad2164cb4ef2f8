"""Someone the prospect copied joins a booked meeting: an updated invite, on the rep's approval.

The rep pressed "Add …" under the reply's DM (`commands.copied_guests`) after the meeting was
booked. The person joins the request as an optional guest for the updated invitation; if the
rep lets that update go (rejects, undoes, lets it expire), they leave the request again.
"""

from __future__ import annotations

from dataclasses import replace

from db.models import BOOKED_STATUSES, ActionType, SchedulingAttendee, SequenceJob
from orchestrator.engine.event_types import RecipientDecided, payload
from orchestrator.engine.events import StepContext, StepResult
from orchestrator.negotiation import meeting
from orchestrator.outbox import recipients
from orchestrator.steps import offers
from orchestrator.steps.delegate import NOT_SENT
from orchestrator.steps.scheduling import audit, job_actions, load_request
from orchestrator.views import when_for_rep


def invite_copied(job: SequenceJob, ctx: StepContext) -> StepResult:
    decided = payload(job, RecipientDecided)
    reply = offers.load_reply(job, ctx)
    request = reply.request
    booked = meeting(request)
    if request.status not in BOOKED_STATUSES or booked is None:
        return StepResult(output={"added": False, "why": request.status}, stop=True)
    address = decided.address
    guest = recipients.attendee(address, reply.attendees)
    added = guest is None
    if guest is None:
        guest = SchedulingAttendee(
            org_id=request.org_id,
            request_id=request.id,
            side="external",
            required=False,
            email=address,
            created_at=ctx.now,
        )
        ctx.session.add(guest)
        audit(
            ctx,
            request,
            "attendee_added",
            f"copied on their reply; added by <@{decided.decided_by}>",
            email=address,
        )
    reply = replace(reply, attendees=[*reply.attendees, guest] if added else reply.attendees)
    proposed = offers.calendar_action(reply, booked.start, reasoning="")
    when = when_for_rep(booked.start, reply.rep.timezone)
    data = replace(
        proposed.action_data,
        subject=f"Update: {request.title}",
        body=f"Add {address} to the meeting on {when} and "
        "send them the invitation. The time stays as it is.",
    )
    why = f"{address} was copied on their reply and you added them."
    return StepResult(
        output={"guest": address, "added": added},
        actions=[replace(proposed, action_data=data, reasoning=why)],
    )


def record_copied(job: SequenceJob, ctx: StepContext) -> StepResult:
    """The update went out: they are a guest. It did not: they leave the request again."""
    drafted = job.outputs.get("invite_copied") or {}
    update = ctx.session.exec(job_actions(job, ActionType.calendar_update)).first()
    if not drafted.get("added") or update is None or update.status not in NOT_SENT:
        return StepResult(output={"guest": drafted.get("guest"), "kept": True})
    request, _, attendees = load_request(ctx.session, job)
    if (guest := recipients.attendee(drafted["guest"], attendees)) is not None:
        ctx.session.delete(guest)
    audit(
        ctx,
        request,
        "attendee_removed",
        f"the update was {update.status}",
        email=guest and guest.email,
    )
    return StepResult(output={"guest": drafted["guest"], "kept": False})
