"""Steps of the `scheduling_requested` sequence: find slots → draft the first email → record it."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from connectors.errors import PermanentError
from db.audit import record_action
from db.models import (
    ActionStatus,
    ActionType,
    EmailMessage,
    InboundRequest,
    InboundStatus,
    PendingAction,
    Rep,
    RequestStatus,
    SchedulingAction,
    SchedulingAttendee,
    SchedulingRequest,
    SequenceJob,
    prospect_zone,
)
from orchestrator.cadence import cadence_for, follow_up_at, follow_up_delay
from orchestrator.engine.action_data import BookingData, EmailData, action_data
from orchestrator.engine.event_types import EventType, RedraftRequested, payload, redraft_key
from orchestrator.engine.events import Event, ProposedAction, StepContext, StepResult
from orchestrator.engine.outputs import OfferedSlot
from orchestrator.event_state import store_event_state
from orchestrator.negotiation import offered_starts, put_on_offer, record_meeting
from orchestrator.steps.drafting import worded, write
from orchestrator.steps.meeting_times import wording_overrides
from orchestrator.steps.public_holidays import holiday_names, holidays_between, zone_country
from orchestrator.webhooks.events import WebhookEvent, record_event
from skills.draft_email import InitialEmailInput
from skills.email_fields import addressed, reply_fields
from skills.find_slots import AttendeeAvailability, Slot, SlotQuery, default_working_hours
from skills.find_slots import find_slots as find_free_slots
from skills.rep_note import NoteRules, read_rep_note

DEFAULT_WINDOW_DAYS = 7
# A request's platform as the calendar connectors name the meeting room to make with a booking;
# any other platform books without one.
# The room a booking asks for: the calendar makes Meet and Teams rooms, the outbox Zoom ones.
CONFERENCE = {"google_meet": "google_meet", "teams": "teams", "zoom": "zoom"}


def load_request(
    session: Session, job: SequenceJob
) -> tuple[SchedulingRequest, Rep, list[SchedulingAttendee]]:
    request = session.get_one(SchedulingRequest, job.request_id)
    rep = session.get_one(Rep, request.rep_id)
    attendees = list(
        session.exec(select(SchedulingAttendee).where(SchedulingAttendee.request_id == request.id))
    )
    return request, rep, attendees


def draft_common(
    rep: Rep, request: SchedulingRequest, *, recipient_tz: str, original_subject: str
) -> dict[str, Any]:
    """The fields every email after the first shares (skills.draft_inputs), but first_name."""
    return {
        "rep_name": rep.name or rep.email,
        "meeting_label": request.meeting_type,
        "duration_minutes": request.duration_minutes,
        "recipient_tz": recipient_tz,
        "our_tz": rep.timezone,
        "signature": rep.signature,
        "original_subject": original_subject,
    }


def meeting_when(start: datetime, *, rep_tz: str, prospect_tz: str) -> str:
    """A meeting time as a card shows it to the rep: in their own zone, with the prospect's
    clock alongside when it reads differently ("Tue Dec 8, 9:00 AM EST (2:00 PM GMT for them)")."""
    ours, theirs = start.astimezone(ZoneInfo(rep_tz)), start.astimezone(ZoneInfo(prospect_tz))
    shown = f"{ours:%a %b} {ours.day}, {_clock(ours)}"
    if _clock(theirs) != _clock(ours):
        same_day = theirs.date() == ours.date()
        shown += f" ({'' if same_day else f'{theirs:%a} '}{_clock(theirs)} for them)"
    return shown


def _clock(moment: datetime) -> str:
    return f"{moment.hour % 12 or 12}:{moment:%M %p} {moment.tzname()}"


def job_actions(job: SequenceJob, *kinds: ActionType) -> SelectOfScalar[PendingAction]:
    """The actions of these kinds that `job` proposed (one each: its key is the job's)."""
    return select(PendingAction).where(
        PendingAction.job_id == job.id, col(PendingAction.action_type).in_(kinds)
    )


def audit(
    ctx: StepContext, request: SchedulingRequest, kind: str, reasoning: str, **details: Any
) -> None:
    record_action(
        ctx.session,
        org_id=request.org_id,
        request_id=request.id,
        kind=kind,
        actor="ai",
        reasoning=reasoning,
        details=details,
        now=ctx.now,
    )


def record_booking(ctx: StepContext, request: SchedulingRequest, booking: PendingAction) -> None:
    """An executed booking (or move) is the request's meeting now; no follow-up chases it."""
    assert booking.result is not None
    data = action_data(booking, BookingData)
    event_id = booking.result["event_id"]
    record_meeting(request, event_id=event_id, start=data.start, end=data.end, now=ctx.now)
    request.status = RequestStatus.confirmed
    request.next_action_at = request.next_action_type = None
    moved = booking.action_type == ActionType.calendar_update or bool(booking.result.get("moved"))
    store_event_state(
        ctx.session,
        request,
        "scheduled",
        reasoning=f"on the calendar for {data.start.isoformat()}",
        now=ctx.now,
    )
    audit(
        ctx,
        request,
        "meeting_moved" if moved else "meeting_booked",
        f"{'moved to' if moved else 'booked'} {data.start.isoformat()}",
    )
    # The CRM hears of it from the same commit (a move drafted as a calendar update is also
    # recorded when it executes: the same event, the same delivery).
    record_event(
        ctx.session,
        request,
        WebhookEvent.moved if moved else WebhookEvent.booked,
        now=ctx.now,
        occurrence=data.start.isoformat(),
    )


def _working_hours(rep: Rep | None) -> dict[int, tuple[time, time]]:
    if rep is None or not rep.working_hours:
        return default_working_hours()
    return {
        int(day): (time.fromisoformat(start), time.fromisoformat(end))
        for day, (start, end) in rep.working_hours.items()
    }


def find_slots(job: SequenceJob, ctx: StepContext) -> StepResult:
    request, rep, attendees = load_request(ctx.session, job)
    start, end = search_window(request, now=ctx.now)
    slots = free_slots(ctx, request=request, rep=rep, attendees=attendees, start=start, end=end)
    found = [OfferedSlot(s.start, s.end, tuple(s.reasons)) for s in slots]
    put_on_offer(request, found, now=ctx.now)
    request.status = RequestStatus.proposing
    ctx.session.add(request)
    audit(ctx, request, "slots_found", f"{len(slots)} times that suit everyone on our side")
    if skipped := holidays_in_window(ctx, request, rep, attendees, start=start, end=end):
        audit(ctx, request, "holidays_skipped", "; ".join(skipped), days=skipped)
    return StepResult(output={"slots": [s.start.isoformat() for s in slots]})


def holidays_in_window(
    ctx: StepContext,
    request: SchedulingRequest,
    rep: Rep,
    attendees: list[SchedulingAttendee],
    *,
    start: datetime,
    end: datetime,
) -> list[str]:
    """The weekday public holidays no time was offered on, for the rep: "Fri Dec 25: Christmas
    Day (US)", each country's once, in date order."""
    internal = [a for a in attendees if a.side == "internal"]
    external = [a for a in attendees if a.side == "external"]
    countries = {
        ctx.ports.holiday_country or zone_country(a.timezone or rep.timezone) for a in internal
    }
    countries.add(zone_country(prospect_zone(request, external)))
    found: dict[date, list[str]] = {}
    for country in sorted(c for c in countries if c):
        for day, name in holiday_names(country, start.date(), end.date()).items():
            if day.weekday() < 5:
                found.setdefault(day, []).append(f"{name} ({country})")
    return [f"{day:%a %b} {day.day}: {', '.join(found[day])}" for day in sorted(found)]


def search_window(request: SchedulingRequest, *, now: datetime) -> tuple[datetime, datetime]:
    """The rep's date range, or the coming week; a range that has run out (a draft redone after
    its times passed) gives way to the coming week rather than to no times at all."""
    start = request.date_range_start or now + timedelta(days=1)
    end = request.date_range_end or start + timedelta(days=DEFAULT_WINDOW_DAYS)
    if end <= now + timedelta(days=1):
        start = now + timedelta(days=1)
        end = start + timedelta(days=DEFAULT_WINDOW_DAYS)
    return start, end


def free_slots(
    ctx: StepContext,
    *,
    request: SchedulingRequest,
    rep: Rep,
    attendees: list[SchedulingAttendee],
    start: datetime,
    end: datetime,
) -> list[Slot]:
    """Times between `start` and `end` that suit everyone on our side, per their calendars
    now (shared by the first email and every follow-up, which re-checks before offering)."""
    query = slot_query(ctx, request=request, rep=rep, attendees=attendees, start=start, end=end)
    slots = find_free_slots(query)
    if not slots:
        raise PermanentError(no_time_message(query))
    return slots


def no_time_message(query: SlotQuery) -> str:
    """Why nothing was found, naming both sides: our calendars and hours, and their daytime
    (a Tokyo prospect and a New York team may simply never overlap)."""
    return (
        f"no time between {query.window_start:%b %d} and {query.window_end:%b %d} suits "
        f"everyone on our side within working hours and the prospect's day ({query.prospect_tz})"
    )


def slot_query(
    ctx: StepContext,
    *,
    request: SchedulingRequest,
    rep: Rep,
    attendees: list[SchedulingAttendee],
    start: datetime,
    end: datetime,
) -> SlotQuery:
    """Our side's calendars read now, as the finder's question (also used to check a time the
    prospect chose before booking it).

    Each of our side keeps their own working hours and zone (a teammate who is a rep here has
    their rep settings; one who isn't keeps office hours in their own zone, never the rep's) and
    their country's public holidays; the prospect keeps those of their zone's country."""
    internal = [a for a in attendees if a.side == "internal"]
    external = [a for a in attendees if a.side == "external"]
    calendar = ctx.ports.calendar_for(request.org_id)
    busy = calendar.free_busy(emails=[a.email for a in internal], start=start, end=end)
    if unreadable := sorted(a.email for a in internal if a.email.lower() not in busy):
        # A calendar we may not read would otherwise count as free all day: say so instead.
        audit(ctx, request, "calendars_unreadable", "treated as free", emails=unreadable)
    reps = _reps_by_email(ctx.session, rep, internal)
    # Zones put a person's date up to a day either side of the window's UTC dates.
    first, last = start.date() - timedelta(days=1), end.date() + timedelta(days=1)
    prospect_tz = prospect_zone(request, external)

    def person(a: SchedulingAttendee) -> AttendeeAvailability:
        known = reps.get(a.email.lower())
        tz = a.timezone or (known.timezone if known else rep.timezone)
        country = ctx.ports.holiday_country or zone_country(tz)
        return AttendeeAvailability(
            email=a.email,
            tz=tz,
            busy=[(i.start, i.end) for i in busy.get(a.email.lower(), ())],
            working_hours=_working_hours(known),
            required=a.required,
            holidays=holidays_between(country, first, last),
        )

    return SlotQuery(
        now=ctx.now,
        duration=timedelta(minutes=request.duration_minutes),
        window_start=start,
        window_end=end,
        attendees=[person(a) for a in internal],
        prospect_tz=prospect_tz,
        preferred_parts=tuple(request.preferred_times),
        avoid=tuple(request.avoid_days),
        buffer=ctx.ports.meeting_buffer,
        prospect_holidays=holidays_between(zone_country(prospect_tz), first, last),
    )


def _reps_by_email(
    session: Session, rep: Rep, internal: list[SchedulingAttendee]
) -> dict[str, Rep]:
    """Our side's people who are reps here too, by address, the request's own rep included."""
    emails = {a.email.lower() for a in internal} - {rep.email.lower()}
    found = {rep.email.lower(): rep}
    if emails:
        rows = session.exec(
            select(Rep).where(Rep.org_id == rep.org_id, col(Rep.email).in_(sorted(emails)))
        )
        found.update((row.email.lower(), row) for row in rows)
    return found


def draft_initial_email(job: SequenceJob, ctx: StepContext) -> StepResult:
    request, rep, attendees = load_request(ctx.session, job)
    external = [a for a in attendees if a.side == "external"]
    slots = list(offered_starts(request))
    prospect = external[0]
    redraft = (
        payload(job, RedraftRequested) if job.event_type == EventType.redraft_requested else None
    )
    written = write(
        ctx,
        request,
        InitialEmailInput(
            prospect_first_name=prospect.name.split()[0] if prospect.name else "",
            rep_name=rep.name or rep.email,
            meeting_label=request.meeting_type,
            duration_minutes=request.duration_minutes,
            slots=slots,
            prospect_tz=prospect_zone(request, [prospect]),
            rep_tz=rep.timezone,
            context=request.context,
            signature=rep.signature,
        ),
        wording_overrides(ctx.session, request),
        # A note with no times in it is passed to the model as the rep's instruction.
        instruction=(redraft.note or "") if redraft and not redraft.rules else "",
    )
    draft = written.draft
    parent = thread_parent(ctx.session, request)
    # Asked by email: the first email answers theirs, in their thread, under their subject.
    fields = reply_fields(parent, subject=parent.subject) if parent else {"subject": draft.subject}
    audit(ctx, request, "draft_created", "first scheduling email drafted for approval")
    return StepResult(
        output={"subject": draft.subject},
        actions=[
            ProposedAction(
                action_type=ActionType.email_initial,
                key="email_initial",
                action_data=EmailData(
                    **addressed(attendees),
                    **fields,
                    body=draft.body,
                    message_id=message_id(job, ctx, "email_initial"),
                    slots=tuple(slots),
                ),
                reasoning=worded(_slots_reasoning(ctx, request, len(slots), job), written),
                confidence=1.0,
            )
        ],
    )


def thread_parent(session: Session, request: SchedulingRequest) -> EmailMessage | None:
    """The email a request started from an emailed ask answers (inbox.inbound_requests)."""
    return session.exec(
        select(EmailMessage)
        .join(InboundRequest, col(InboundRequest.email_message_id) == EmailMessage.id)
        .where(
            InboundRequest.request_id == request.id,
            InboundRequest.status == InboundStatus.offered,
        )
    ).first()


def _slots_reasoning(
    ctx: StepContext, request: SchedulingRequest, count: int, job: SequenceJob
) -> str:
    if job.event_type == EventType.redraft_requested:
        redraft = payload(job, RedraftRequested)
        if stale := redraft.stale:
            return f"Redrafted with fresh times: the last draft could not go out ({stale})."
        if redraft.rules:
            return f"Redrafted after your note “{redraft.note}”: {redraft.rules}"
        return f"Redrafted after your note “{redraft.note}”."
    unreadable = ctx.session.exec(
        select(SchedulingAction).where(
            SchedulingAction.request_id == request.id,
            SchedulingAction.action_type == "calendars_unreadable",
        )
    ).first()
    skipped = ctx.session.exec(
        select(SchedulingAction).where(
            SchedulingAction.request_id == request.id,
            SchedulingAction.action_type == "holidays_skipped",
        )
    ).all()
    holidays = ""
    if skipped:
        days = skipped[-1].details["days"]
        holidays = f"; none on {'a public holiday' if len(days) == 1 else 'public holidays'}: "
        holidays += "; ".join(days)
    if unreadable is None:
        return f"{count} times free for everyone on our side{holidays}"
    who = ", ".join(unreadable.details["emails"])
    return (
        f"{count} times free on the calendars I can read; I could not see {who}'s, so check "
        f"those{holidays}"
    )


def message_id(job: SequenceJob, ctx: StepContext, key: str) -> str:
    # Deterministic for the job and step, so the identity exists before any send is tried.
    return f"<{job.id.hex}.{key}@{ctx.ports.mail_domain}>"


def record_sent(job: SequenceJob, ctx: StepContext) -> StepResult:
    """After the rep decided: note the send (thread id, follow-up clock) or why nothing went out."""
    request, _, _ = load_request(ctx.session, job)
    action = ctx.session.exec(job_actions(job, ActionType.email_initial)).one()
    if action.status == ActionStatus.executed and action.result:
        request.status = RequestStatus.awaiting_response
        request.email_thread_id = action.result["thread_id"]
        request.attempt_count += 1
        request.next_action_type = "follow_up"
        cadence = cadence_for(ctx.session, request=request)
        request.next_action_at = follow_up_at(
            ctx.session, request, earliest=ctx.now + follow_up_delay(cadence, follow_ups_sent=0)
        )
        # Before the send's own row: the Home tab's "last" is the send, not the bookkeeping.
        if request.event_next_action_subtype is None:
            store_event_state(
                ctx.session, request, "reaching_out", reasoning="first email sent", now=ctx.now
            )
        audit(
            ctx,
            request,
            "email_sent",
            "first scheduling email sent",
            message_id=action.result["message_id"],
        )
    elif (action.result or {}).get("redrafted"):
        # The rep pressed "Redraft with fresh times": the new draft's job carries the request.
        audit(ctx, request, "draft_replaced", f"first email {action.status}; redrafted")
    elif rules := fold_rep_note(ctx, request, action):
        # Rejected with a note that says which times to offer: the next draft follows it.
        request.updated_at = ctx.now
        ctx.session.add(request)
        redraft = Event(
            type=EventType.redraft_requested,
            org_id=request.org_id,
            idempotency_key=redraft_key(action.id),
            rep_id=request.rep_id,
            request_id=request.id,
            payload=RedraftRequested(
                note=(action.result or {})["reject_reason"], rules=rules.describe()
            ),
        )
        return StepResult(output={"action_status": action.status}, events=[redraft])
    elif _model_redraft(ctx, request, action):
        # Rejected with a note about the words: the model writes it again, following the note.
        request.updated_at = ctx.now
        ctx.session.add(request)
        note = str((action.result or {})["reject_reason"])
        audit(ctx, request, "rep_note_applied", "the model redrafts following the rep's note")
        redraft = Event(
            type=EventType.redraft_requested,
            org_id=request.org_id,
            idempotency_key=redraft_key(action.id),
            rep_id=request.rep_id,
            request_id=request.id,
            payload=RedraftRequested(note=note),
        )
        return StepResult(output={"action_status": action.status}, events=[redraft])
    else:
        request.status = RequestStatus.paused
        request.next_action_at = None
        request.next_action_type = None
        audit(ctx, request, "request_paused", f"first email {action.status}; nothing was sent")
    request.updated_at = ctx.now
    ctx.session.add(request)
    return StepResult(output={"action_status": action.status})


def _model_redraft(ctx: StepContext, request: SchedulingRequest, action: PendingAction) -> bool:
    """A rejected first email with a note, when a model can write it again from that note."""
    note = str((action.result or {}).get("reject_reason") or "").strip()
    if action.status != ActionStatus.rejected or not note:
        return False
    return ctx.ports.llm_for(request.org_id, request.rep_id) is not None


def fold_rep_note(ctx: StepContext, request: SchedulingRequest, action: PendingAction) -> NoteRules:
    """A draft rejected with a note: keep what it says about times for every later draft."""
    note = str((action.result or {}).get("reject_reason") or "")
    if action.status != ActionStatus.rejected or not note.strip():
        return NoteRules()
    rules = read_rep_note(note)
    if rules:
        request.avoid_days = _merged(request.avoid_days, rules.avoid)
        request.preferred_times = _merged(request.preferred_times, rules.prefer)
        reasoning = f"from the rep's note: {rules.describe()}"
        audit(ctx, request, "rep_note_applied", reasoning, note=note)
    return rules


def _merged(current: list[str], more: tuple[str, ...]) -> list[str]:
    return [*current, *(rule for rule in more if rule not in current)]
