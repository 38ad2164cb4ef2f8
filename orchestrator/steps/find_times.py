"""The time picker (seed 002 Build 3, Pattern 2): `calendar_find_times` finds times and shows
them to the rep in Slack; the rep's pick starts `calendar_times_chosen`, which drafts the email
offering the chosen times or the invite for one (each waits for approval like any draft), or
leaves the request to the rep.

Clicking the picker sends nothing, so it is not a pending action. The choice is recorded as the
trigger of the child job, whose idempotency key is one per picker: the first click wins and
every later one (a double click, a delegate at the same moment) is told it was already handled.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import timedelta

from sqlmodel import Session, select

from connectors.errors import PermanentError
from db.audit import record_action
from db.models import (
    FINISHED_STATUSES,
    ActionStatus,
    ActionType,
    Rep,
    RequestStatus,
    SchedulingAttendee,
    SchedulingRequest,
    SequenceJob,
    prospect_zone,
)
from orchestrator.deps import Deps
from orchestrator.engine.action_data import BookingData, Guest
from orchestrator.engine.dispatch import insert_job
from orchestrator.engine.event_types import EventType, TimesChosen, payload
from orchestrator.engine.events import Event, ProposedAction, StepContext, StepResult
from orchestrator.engine.outputs import FindTimes, OfferedSlot, OfferTimes, output
from orchestrator.mrkdwn import owner_only
from orchestrator.negotiation import put_on_offer
from orchestrator.steps.scheduling import (
    CONFERENCE,
    DEFAULT_WINDOW_DAYS,
    audit,
    draft_initial_email,
    job_actions,
    load_request,
    meeting_when,
    no_time_message,
    record_booking,
    record_sent,
    slot_query,
)
from orchestrator.views import PAGE_SIZE, PickerOption, PickerView
from skills.find_slots import Slot, SlotQuery, check_slots
from skills.find_slots import find_slots as find_free_slots

CHOICES = ("email", "invite", "handle")
MAX_OPTIONS = 12  # three pages; past that a different window is the better question


@dataclass(frozen=True)
class PickOutcome:
    ok: bool
    message: str
    view: PickerView | None = None


# --- calendar_find_times ------------------------------------------------------------------------


def ranked_options(query: SlotQuery) -> list[Slot]:
    """The best `PAGE_SIZE` times first (what `/schedule` would offer), then more that don't
    overlap them for "Show more"; chronological within each group."""
    top = find_free_slots(replace(query, count=PAGE_SIZE))
    wider = find_free_slots(replace(query, count=MAX_OPTIONS))
    rest = [s for s in wider if not any(s.start < t.end and t.start < s.end for t in top)]
    return [*top, *rest][:MAX_OPTIONS]


def find_times(job: SequenceJob, ctx: StepContext) -> StepResult:
    request, rep, attendees = load_request(ctx.session, job)
    start = request.date_range_start or ctx.now + timedelta(days=1)
    end = request.date_range_end or start + timedelta(days=DEFAULT_WINDOW_DAYS)
    query = slot_query(ctx, request=request, rep=rep, attendees=attendees, start=start, end=end)
    options = ranked_options(query)
    if not options:
        raise PermanentError(no_time_message(query))
    stored = tuple(OfferedSlot(s.start, s.end, tuple(s.reasons)) for s in options)
    put_on_offer(request, stored[:PAGE_SIZE], now=ctx.now)
    request.status = RequestStatus.proposing
    ctx.session.add(request)
    audit(ctx, request, "slots_found", f"{len(options)} times for the rep to pick from")
    return StepResult(output=FindTimes(options=stored))


def offer_times(job: SequenceJob, ctx: StepContext) -> StepResult:
    """DM the rep the picker (its Block Kit comes from bot/ through the composition root)."""
    view = picker_view(ctx.session, job)
    rep = ctx.session.get_one(Rep, job.rep_id)
    text, blocks = ctx.ports.cards.picker(view)
    channel = ctx.ports.chat.open_dm(user_id=rep.slack_user_id)
    posted = ctx.ports.chat.post_message(channel=channel, text=text, blocks=blocks)
    return StepResult(output=OfferTimes(channel=posted.channel, ts=posted.ts))


def picker_key(job_id: uuid.UUID | str) -> str:
    return f"picker:{job_id}"


def picker_view(session: Session, job: SequenceJob) -> PickerView:
    request, rep, attendees = load_request(session, job)
    external = [a for a in attendees if a.side == "external"]
    prospect = external[0] if external else None
    posted = output(job, OfferTimes)
    view = PickerView(
        job_id=str(job.id),
        ref=request.ref,
        meeting_type=request.meeting_type,
        duration_minutes=request.duration_minutes,
        prospect=(prospect.name or prospect.email) if prospect else "",
        rep_timezone=rep.timezone,
        # The same zone the finder judged "early/late for them" by.
        prospect_timezone=prospect_zone(request, external),
        options=_options(job),
        channel=posted.channel if posted else None,
        ts=posted.ts if posted else None,
    )
    chosen = _chosen_job(session, job.id)
    if chosen is None:
        return view
    picked = payload(chosen, TimesChosen)
    return replace(view, choice=picked.choice, chosen=picked.options, decided_by=picked.by)


def _options(job: SequenceJob) -> tuple[PickerOption, ...]:
    found = output(job, FindTimes)
    stored = found.options if found else ()
    return tuple(PickerOption(index=i, start=s.start, end=s.end) for i, s in enumerate(stored))


def _chosen_job(session: Session, job_id: uuid.UUID) -> SequenceJob | None:
    return session.exec(
        select(SequenceJob).where(SequenceJob.idempotency_key == picker_key(job_id))
    ).first()


# --- the rep's clicks ---------------------------------------------------------------------------


def already_handled(view: PickerView) -> str:
    who = f"<@{view.decided_by}>" if view.decided_by else "someone"
    what = {
        "email": "chose to email the times",
        "invite": "chose to send an invite",
        "handle": "took it over",
    }.get(view.choice or "", "decided")
    return f"Already handled: {who} {what}."


def _open_picker(
    session: Session, job_id: uuid.UUID, slack_user_id: str
) -> tuple[PickerView | None, SchedulingRequest | None, str]:
    """The picker if the clicker may use it now, else why not."""
    job = session.get(SequenceJob, job_id)
    if (
        job is None
        or job.event_type != EventType.calendar_find_times
        or "offer_times" not in job.outputs
    ):
        return None, None, "This time picker is gone; `/schedule times …` makes a new one."
    request, rep, _ = load_request(session, job)
    if not rep.allows(slack_user_id):
        return None, None, owner_only(rep.slack_user_id)
    view = picker_view(session, job)
    if view.choice is not None:
        return None, None, already_handled(view)
    if request.status in FINISHED_STATUSES:
        return None, None, f"{request.ref} is {request.status}; nothing to do here."
    return view, request, ""


def show_more(deps: Deps, *, job_id: uuid.UUID, page: int, slack_user_id: str) -> PickOutcome:
    with deps.uow() as uow:
        view, _, problem = _open_picker(uow.session, job_id, slack_user_id)
    if view is None:
        return PickOutcome(False, problem)
    view = replace(view, page=page)
    if not view.has_more():
        return PickOutcome(False, "That's every time I found in this window.")
    return PickOutcome(True, "", replace(view, page=page + 1))


def choose(
    deps: Deps,
    *,
    job_id: uuid.UUID,
    choice: str,
    page: int,
    ticked: Sequence[int],
    slack_user_id: str,
) -> PickOutcome:
    """Record the rep's choice and start acting on it; only the first choice counts."""
    if choice not in CHOICES:
        raise ValueError(f"unknown choice {choice!r}")
    now = deps.clock.now()
    with deps.uow() as uow:
        session = uow.session
        view, request, problem = _open_picker(session, job_id, slack_user_id)
        if view is None or request is None:
            return PickOutcome(False, problem)
        known = {o.index for o in view.options}
        picked = sorted({i for i in ticked if i in known})
        if choice == "invite" and len(picked) != 1:
            return PickOutcome(False, "Tick exactly one time for the invite.", view)
        if choice == "email" and not picked:
            picked = [o.index for o in view.page_options(page)]
        if choice == "handle":
            picked = []
        parent = session.get_one(SequenceJob, job_id)
        child, created = insert_job(
            session,
            Event(
                type=EventType.calendar_times_chosen,
                org_id=parent.org_id,
                idempotency_key=picker_key(job_id),
                source="slack:time_picker",
                rep_id=parent.rep_id,
                request_id=parent.request_id,
                payload=TimesChosen(choice=choice, options=tuple(picked), by=slack_user_id),
                parent_job_id=parent.id,
                correlation_id=parent.correlation_id,
            ),
            now=now,
        )
        if not created:
            # Another click won between our read and our insert.
            return PickOutcome(False, already_handled(picker_view(session, parent)))
        record_action(
            session,
            org_id=request.org_id,
            request_id=request.id,
            kind="times_chosen",
            actor="user",
            reasoning=f"time picker: {choice} by <@{slack_user_id}>",
            details={
                "choice": choice,
                "slots": [view.options[i].start.isoformat() for i in picked],
            },
            now=now,
        )
        uow.commit()
        final = picker_view(session, parent)
    deps.wakeups.run_step(child.id, tag="0-0")
    return PickOutcome(True, "", final)


# --- calendar_times_chosen ----------------------------------------------------------------------


def act_on_choice(job: SequenceJob, ctx: StepContext) -> StepResult:
    """Draft what the rep chose; it waits for their approval like every draft."""
    request, rep, attendees = load_request(ctx.session, job)
    if request.status in FINISHED_STATUSES:
        return StepResult(output={"skipped": request.status}, stop=True)
    picked = payload(job, TimesChosen)
    choice = picked.choice
    if choice == "handle":
        request.paused_from, request.status = request.status, RequestStatus.paused
        request.next_action_at = request.next_action_type = None
        request.updated_at = ctx.now
        ctx.session.add(request)
        audit(ctx, request, "request_paused", "the rep is handling this one; nothing was sent")
        return StepResult(output={"handled_by": "rep"}, stop=True)
    parent = ctx.session.get_one(SequenceJob, job.parent_job_id)
    options = _options(parent)
    chosen = [options[i] for i in picked.options]
    if choice == "email":
        # The first-email step offers the request's proposed slots: make them the chosen ones.
        put_on_offer(request, [OfferedSlot(o.start, o.end, ()) for o in chosen], now=ctx.now)
        ctx.session.add(request)
        return draft_initial_email(job, ctx)
    (slot,) = chosen
    _still_free(ctx, request, rep, attendees, slot)
    return StepResult(
        output={"booking": slot.start.isoformat()},
        actions=[_booking(request, rep, attendees, slot)],
    )


def _still_free(
    ctx: StepContext,
    request: SchedulingRequest,
    rep: Rep,
    attendees: list[SchedulingAttendee],
    slot: PickerOption,
) -> None:
    """Calendars move while a picker waits: check the time again before drafting an invite."""
    query = slot_query(
        ctx,
        request=request,
        rep=rep,
        attendees=attendees,
        start=slot.start - timedelta(days=1),
        end=slot.end + timedelta(days=1),
    )
    ((_, ok, reason),) = check_slots([slot.start], query)
    if not ok:
        external = [a for a in attendees if a.side == "external"]
        when = meeting_when(
            slot.start, rep_tz=rep.timezone, prospect_tz=prospect_zone(request, external)
        )
        raise PermanentError(
            f"{when} is no longer free on our side ({reason}); `/schedule times` finds fresh ones"
        )


def _booking(
    request: SchedulingRequest,
    rep: Rep,
    attendees: list[SchedulingAttendee],
    slot: PickerOption,
) -> ProposedAction:
    external = [a for a in attendees if a.side == "external"]
    prospect_tz = prospect_zone(request, external)
    return ProposedAction(
        action_type=ActionType.calendar_book,
        key="calendar_book",
        action_data=BookingData(
            title=request.title,
            start=slot.start,
            end=slot.end,
            attendees=tuple(
                Guest(email=a.email, name=a.name, optional=not a.required)
                for a in attendees
                if a.email.lower() != rep.email.lower()
            ),
            description=request.context,
            conference=CONFERENCE.get(request.platform),
            location=request.location or None,
            # What the approval card shows.
            to=tuple(a.email for a in external),
            subject=f"Invite: {request.title}",
            body=f"Book {request.duration_minutes} min starting "
            f"{meeting_when(slot.start, rep_tz=rep.timezone, prospect_tz=prospect_tz)} "
            "and send the calendar invite.",
        ),
        reasoning="You picked this time in the time picker; it is still free on our side.",
        confidence=0.95,
    )


def record_choice(job: SequenceJob, ctx: StepContext) -> StepResult:
    """After the rep decided the draft: note the send or the booking, or why nothing happened."""
    booking = ctx.session.exec(job_actions(job, ActionType.calendar_book)).first()
    if booking is None:
        return record_sent(job, ctx)
    request, _, _ = load_request(ctx.session, job)
    if booking.status == ActionStatus.executed and booking.result:
        record_booking(ctx, request, booking)
    else:
        request.paused_from, request.status = request.status, RequestStatus.paused
        request.next_action_at = request.next_action_type = None
        request.updated_at = ctx.now
        ctx.session.add(request)
        audit(ctx, request, "request_paused", f"invite {booking.status}; nothing was sent")
    return StepResult(output={"action_status": booking.status})
