"""Booking and counter-proposing, for replies that choose or ask for a time.

`book_or_counter` re-checks our calendars for the times they chose: the first that still works
becomes a calendar action (a new event, or a move of the one already booked), anything else
gets fresh times in their thread. `load_reply` builds the `Reply` every handler works from.
The reply handlers (`respond`, `delegate`) and the confirmation after a booking (`negotiate`)
share these, so `respond` and `negotiate` need not import each other.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlmodel import select

from db.models import (
    BOOKED_STATUSES,
    ActionType,
    EmailMessage,
    Rep,
    SchedulingAttendee,
    SchedulingRequest,
    SequenceJob,
)
from orchestrator.engine.action_data import BookingData, EmailData, Guest, MoveData
from orchestrator.engine.event_types import reply_id
from orchestrator.engine.events import ProposedAction, StepContext, StepResult
from orchestrator.engine.outputs import Assess, UnderstandReply, output
from orchestrator.engine.shapes import ShapeError
from orchestrator.negotiation import event_id
from orchestrator.outbox import recipients
from orchestrator.steps.drafting import worded, write
from orchestrator.steps.replies import prospect_tz
from orchestrator.steps.scheduling import (
    CONFERENCE,
    draft_common,
    free_slots,
    meeting_when,
    message_id,
    slot_query,
)
from skills.asked_window import AskedWindow, asked_window
from skills.draft_email import CounterProposalInput
from skills.email_fields import threaded_under
from skills.email_text import clean_body
from skills.find_slots import check_slots
from skills.find_slots import find_slots as find_free_slots

# Fresh times are offered from tomorrow, over the next week.
FRESH_WINDOW = timedelta(days=7)


@dataclass(frozen=True)
class Reply:
    """One inbound reply and everything a handler needs to answer it."""

    job: SequenceJob
    ctx: StepContext
    request: SchedulingRequest
    rep: Rep
    attendees: list[SchedulingAttendee]
    inbound: EmailMessage
    analysis: UnderstandReply | None  # None after a decision card: no reply was read anew
    decision: Assess  # empty when the sequence has no `assess` step
    tz: str  # the zone the sender's words mean

    @property
    def understood(self) -> UnderstandReply:
        if self.analysis is None:
            raise ShapeError(f"job {self.job.id}: no understand_reply output")
        return self.analysis

    @property
    def sender(self) -> SchedulingAttendee | None:
        address = self.inbound.sender.lower()
        return next((a for a in self.attendees if a.email.lower() == address), None)

    def first_name(self, attendee: SchedulingAttendee | None = None) -> str:
        who = attendee or self.sender
        return who.name.split()[0] if who and who.name else ""

    def message(self) -> str:
        """Their words without quoted history or signature (for the model, as data)."""
        return clean_body(self.inbound.body_text)

    def common(self, **fields: Any) -> dict[str, Any]:
        """The draft fields every reply shares."""
        return {
            **draft_common(
                self.rep, self.request, recipient_tz=self.tz, original_subject=self.inbound.subject
            ),
            **fields,
        }


def load_reply(job: SequenceJob, ctx: StepContext) -> Reply:
    """The reply the job is about (`email_message_id` in its payload) and its request."""
    request = ctx.session.get_one(SchedulingRequest, job.request_id)
    inbound = ctx.session.get_one(EmailMessage, reply_id(job))
    return Reply(
        job=job,
        ctx=ctx,
        request=request,
        rep=ctx.session.get_one(Rep, request.rep_id),
        attendees=list(
            ctx.session.exec(
                select(SchedulingAttendee).where(SchedulingAttendee.request_id == request.id)
            )
        ),
        inbound=inbound,
        analysis=output(job, UnderstandReply),
        decision=output(job, Assess) or Assess(),
        tz=prospect_tz(ctx.session, request, inbound.sender),
    )


def asked(reply: Reply) -> AskedWindow:
    """What their reply asks of fresh times, read from its text (so it still holds when the
    rep asks for fresh times from a decision card); a booked meeting anchors "push it"."""
    request = reply.request
    booked = None
    if request.status in BOOKED_STATUSES and request.meeting_start and request.meeting_end:
        booked = (request.meeting_start, request.meeting_end)
    body = clean_body(reply.inbound.body_text)
    return asked_window(body, now=reply.ctx.now, tz=reply.tz, booked=booked)


def within(reply: Reply, window: AskedWindow) -> tuple[datetime, ...]:
    """Times free on our side that keep to `window` (none when nothing in it is free)."""
    now, request = reply.ctx.now, reply.request
    floor = window.not_before
    tomorrow = max(now + timedelta(days=1), floor or now)
    searches = window.spans or ((tomorrow, tomorrow + FRESH_WINDOW),)
    found: set[datetime] = set()
    for lo, hi in searches:
        lo = max(lo, floor) if floor is not None else lo
        if hi <= max(lo, now):
            continue
        query = slot_query(
            reply.ctx, request=request, rep=reply.rep, attendees=reply.attendees, start=lo, end=hi
        )
        query = replace(query, avoid=(*query.avoid, *window.avoid))
        found |= {s.start for s in find_free_slots(query) if window.allows(s.start, s.end)}
    return tuple(sorted(found))


def fresh_slots(reply: Reply, window: AskedWindow | None = None) -> tuple[datetime, ...]:
    """Times that suit our side now and keep to what their reply asked (a day, a part of the
    day, after a date, not mornings); from tomorrow over the next week when it asked nothing
    in particular or nothing it asked for is free."""
    window = asked(reply) if window is None else window
    if window and (kept := within(reply, window)):
        return kept
    start = reply.ctx.now + timedelta(days=1)
    slots = free_slots(
        reply.ctx,
        request=reply.request,
        rep=reply.rep,
        attendees=reply.attendees,
        start=start,
        end=start + FRESH_WINDOW,
    )
    return tuple(s.start for s in slots)


def book_or_counter(reply: Reply, *, candidates: list[datetime]) -> StepResult:
    """Book the first of their times that still works for us, else counter with fresh ones."""
    if not candidates:
        return StepResult(
            output={"counter": True, "why": "they gave no time"},
            actions=[counter(reply, why="our times don't suit them and they named no other")],
        )
    request = reply.request
    duration = timedelta(minutes=request.duration_minutes)
    start, end = min(candidates) - timedelta(days=1), max(candidates) + duration + timedelta(days=1)
    query = slot_query(
        reply.ctx,
        request=request,
        rep=reply.rep,
        attendees=reply.attendees,
        start=start,
        end=end,
    )
    checks = check_slots(candidates, query)
    chosen = next((when for when, ok, _ in checks if ok), None)
    if chosen is not None:
        return StepResult(
            output={"booking": chosen.isoformat()},
            actions=[calendar_action(reply, chosen, reasoning=reply.understood.reasoning)],
        )
    why = "; ".join(f"{_shown(reply, when)}: {reason}" for when, _, reason in checks)
    return StepResult(
        output={"counter": True, "why": why},
        actions=[
            counter(
                reply,
                why=f"the time they asked for doesn't work for us ({why})",
                they_named_a_time=True,
            )
        ],
    )


def _shown(reply: Reply, start: datetime) -> str:
    """The time on the booking card: the rep's clock, and the clock of whoever chose it."""
    theirs = prospect_tz(reply.ctx.session, reply.request, reply.inbound.sender)
    return meeting_when(start, rep_tz=reply.rep.timezone, prospect_tz=theirs)


def calendar_action(reply: Reply, start: datetime, *, reasoning: str) -> ProposedAction:
    """A new event, or a move of the booked one (never a second event for one meeting)."""
    request, rep = reply.request, reply.rep
    end = start + timedelta(minutes=request.duration_minutes)
    live = event_id(request)
    moving = live is not None
    # Someone the rep dropped after they declined gets no invite.
    invited = [a for a in reply.attendees if a.required or a.invite_status != "declined"]
    booking = BookingData(
        title=request.title,
        start=start,
        end=end,
        attendees=tuple(
            Guest(email=a.email, name=a.name, optional=not a.required)
            for a in invited
            if a.email.lower() != rep.email.lower()
        ),
        description=request.context,
        conference=CONFERENCE.get(request.platform),
        location=request.location or None,
        # What the approval card shows.
        to=tuple(a.email for a in invited if a.side == "external"),
        subject=f"{'Move' if moving else 'Invite'}: {request.title}",
        body=f"{'Move the meeting to' if moving else 'Book'} {request.duration_minutes} min "
        f"starting {_shown(reply, start)} and send the calendar "
        f"{'update' if moving else 'invite'}.",
    )
    data = booking
    if live is not None:
        data = MoveData(**vars(booking), event_id=live)
    why = f"They chose this time and it is still free on our side. {reasoning}".strip()
    if moving and (others := _not_asked(reply, invited)):
        # One of several asked to move: the others agreed to the booked time, not this one.
        why += (
            f" {others} agreed to the time booked now and did not ask for this one: the update "
            "moves it for everyone."
        )
    return ProposedAction(
        action_type=ActionType.calendar_update if moving else ActionType.calendar_book,
        key="calendar_update" if moving else "calendar_book",
        action_data=data,
        reasoning=why,
        confidence=0.9,
    )


def _not_asked(reply: Reply, invited: list[SchedulingAttendee]) -> str:
    """The other required people on their side, by name, when someone asks to move."""
    sender = reply.inbound.sender.lower()
    others = [
        a.name or a.email
        for a in invited
        if a.side == "external" and a.required and a.email.lower() != sender
    ]
    return ", ".join(others)


# Fresh times to everyone on their side: most of them suggested nothing, so no "thanks for
# suggesting a time" and no one person's name in the greeting.
FRESH_TIMES_FOR_ALL = {
    "counter_proposal.body": (
        "Hi all,\n\n"
        "Thanks for your replies. To find a time that suits everyone, here are some fresh "
        "options:\n{slots}\n\n"
        "Would one of these work for you all? If not, tell me what does and I'll make it "
        "fit.\n\n{signature}"
    ),
}


def counter(
    reply: Reply, *, why: str, to: list[str] | None = None, they_named_a_time: bool = False
) -> ProposedAction:
    """Fresh times in their thread, to the sender (when on the request) unless `to` names
    others. Only when `they_named_a_time` does the email say sorry for it."""
    window = asked(reply)
    kept = within(reply, window) if window else ()
    slots = kept or fresh_slots(reply, AskedWindow())
    if kept:
        why += f"; keeping to what they asked ({', '.join(window.said)})"
    elif window:
        why += f"; nothing is free in what they asked ({', '.join(window.said)})"
    said: Literal["time", "window", "nothing"] = (
        "time" if they_named_a_time else "window" if kept else "nothing"
    )
    group = to is not None and len(to) > 1
    written = write(
        reply.ctx,
        reply.request,
        CounterProposalInput(
            **reply.common(first_name=reply.first_name()), slots=slots, asked=said
        ),
        FRESH_TIMES_FOR_ALL if group else None,
        prospect_message=reply.message(),
    )
    draft = written.draft
    return ProposedAction(
        action_type=ActionType.email_response,
        key="email_response",
        action_data=EmailData(
            to=tuple(to or recipients.reply_to(reply.inbound.sender, reply.attendees)),
            subject=draft.subject,
            body=draft.body,
            message_id=message_id(reply.job, reply.ctx, "email_response"),
            slots=tuple(draft.slots),
            **threaded_under(reply.inbound),
        ),
        reasoning=worded(f"Fresh times, because {why}.", written),
        confidence=0.8,
    )
