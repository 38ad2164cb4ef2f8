"""The meeting part of a request's life: a reminder on the day, the held / no-show question after
it, and a fresh-times email when it did not happen.

- `reminder_due` (started by the clock at the reminder time): check → draft the reminder in the
  thread (approval) → on send, `confirmed → reminder_sent`.
- `meeting_ended` (started by the clock at the end + 10 minutes): DM the rep a card asking
  Held · No-show · Rescheduled. The click is handled by
  `orchestrator.commands.own_requests.answer_meeting`.
- `meeting_recovery` (started by that click, for a no-show or a reschedule): draft fresh times
  (approval) → on send, follow-ups resume.

Every email here answers in the request's conversation: In-Reply-To the last email we sent, under
the subject of the first one with "Re:" (Gmail starts a new conversation when the subject changes,
and the first subject names no time that could since have moved).
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from db.models import (
    BOOKED_STATUSES,
    ActionStatus,
    ActionType,
    EmailMessage,
    PendingAction,
    Rep,
    RequestStatus,
    SchedulingAttendee,
    SchedulingRequest,
    SequenceJob,
)
from orchestrator.cadence import cadence_for, follow_up_at, follow_up_delay
from orchestrator.engine.action_data import EmailData
from orchestrator.engine.event_types import (
    MeetingEnded,
    MeetingRecovery,
    ReminderDue,
    payload,
    trigger,
)
from orchestrator.engine.events import ProposedAction, StepContext, StepResult
from orchestrator.engine.outputs import DraftRecovery, OfferedSlot
from orchestrator.engine.shapes import ShapeError
from orchestrator.mrkdwn import escape_mrkdwn
from orchestrator.negotiation import meeting
from orchestrator.notices.gate import post_once
from orchestrator.notices.post import post_notice
from orchestrator.outbox.calendar import booked_join_url
from orchestrator.steps.drafting import worded, write
from orchestrator.steps.follow_up import DRAFT_TTL, last_outbound, slot_window
from orchestrator.steps.meeting_times import meeting_zone, wording_overrides
from orchestrator.steps.scheduling import (
    audit,
    draft_common,
    free_slots,
    load_request,
    message_id,
)
from orchestrator.views import MeetingCheck, start_token
from skills.draft_email import CounterProposalInput, Draft, NoShowInput, ReminderInput
from skills.draft_inputs import TemplateError
from skills.draft_validation import validate_draft
from skills.draft_wording import format_slot
from skills.email_fields import addressed, reply_fields

# --- shared -------------------------------------------------------------------------------------


def _payload_start(job: SequenceJob) -> datetime:
    data = trigger(job)
    if not isinstance(data, ReminderDue | MeetingEnded):
        raise ShapeError(f"job {job.id}: a {job.event_type} is about no meeting")
    return data.meeting_start


def _first_subject(session: Session, request: SchedulingRequest) -> str:
    first = session.exec(
        select(EmailMessage.subject)
        .where(EmailMessage.request_id == request.id)
        .where(EmailMessage.direction == "outbound")
        .where(EmailMessage.status == "sent")
        .order_by(col(EmailMessage.sent_at), col(EmailMessage.created_at))
    ).first()
    return first or ""


def _email_data(
    job: SequenceJob,
    ctx: StepContext,
    key: str,
    draft: Draft,
    attendees: list[SchedulingAttendee],
    last: EmailMessage | None,
    slots: tuple[datetime, ...] | None = None,
) -> EmailData:
    """Recipients from the request (never from a draft), threaded under our last email."""
    request = ctx.session.get_one(SchedulingRequest, job.request_id)
    data = EmailData(
        **addressed(attendees),
        subject=draft.subject,
        body=draft.body,
        message_id=message_id(job, ctx, key),
        slots=slots,
    )
    if last is not None:
        data = replace(data, **reply_fields(last, subject=_first_subject(ctx.session, request)))
    return data


def _first_name(attendees: list[SchedulingAttendee]) -> str:
    prospect = next((a for a in attendees if a.side == "external" and a.required), None)
    return prospect.name.split()[0] if prospect and prospect.name else ""


def _job_action(session: Session, job: SequenceJob) -> PendingAction | None:
    return session.exec(select(PendingAction).where(PendingAction.job_id == job.id)).first()


def _not_drafted(
    ctx: StepContext, request: SchedulingRequest, what: str, problems: list[str]
) -> StepResult:
    """A draft that fails the checks never reaches the outbox; the rep hears why instead."""
    audit(ctx, request, "draft_rejected_by_checks", "; ".join(problems), draft=what)
    post_notice(
        ctx.ports.notices,
        session=ctx.session,
        rep_id=request.rep_id,
        text=(
            f":warning: *{escape_mrkdwn(request.ref)}* · Convene could not write the {what} "
            f"it is sure of ({escape_mrkdwn('; '.join(problems))}). Nothing was sent."
        ),
    )
    return StepResult(output={"problems": problems}, stop=True)


# --- reminder_due -------------------------------------------------------------------------------


def _booked_at(session: Session, request: SchedulingRequest) -> datetime | None:
    """When the meeting's current time went on the calendar (the booking or the last move)."""
    rows = session.exec(
        select(PendingAction)
        .where(PendingAction.request_id == request.id)
        .where(
            col(PendingAction.action_type).in_(
                [ActionType.calendar_book, ActionType.calendar_update]
            )
        )
        .where(PendingAction.status == ActionStatus.executed)
        .order_by(col(PendingAction.executed_at).desc())
    ).all()
    booked = meeting(request)
    for row in rows:
        if booked is not None and (row.result or {}).get("event_id") == booked.event_id:
            return row.executed_at
    return None


def check_reminder(job: SequenceJob, ctx: StepContext) -> StepResult:
    """Still worth reminding? Only a confirmed meeting, still at this time, still ahead, and
    booked before the reminder time (a same-morning booking's confirmation says it all)."""
    request, _, _ = load_request(ctx.session, job)
    start = _payload_start(job)
    due = payload(job, ReminderDue).due_at
    booked = _booked_at(ctx.session, request)
    why = None
    if request.status != RequestStatus.confirmed:
        why = f"request is {request.status}"
    elif request.meeting_start != start:
        why = "the meeting moved; its new time has its own reminder"
    elif start <= ctx.now:
        why = "the meeting has started"
    elif booked is not None and booked >= due:
        why = "booked after the reminder time; the confirmation just went out"
    if why is not None:
        audit(ctx, request, "reminder_skipped", why)
        return StepResult(output={"skipped": why}, stop=True)
    return StepResult(output={"meeting_start": start.isoformat()})


def draft_reminder(job: SequenceJob, ctx: StepContext) -> StepResult:
    request, rep, attendees = load_request(ctx.session, job)
    start = _payload_start(job)
    tz = meeting_zone(request, attendees)
    last = last_outbound(ctx.session, request)
    link = str(
        booked_join_url(ctx.session, request_id=request.id, event_id=request.calendar_event_id)
        or ""
    )
    try:
        written = write(
            ctx,
            request,
            ReminderInput(
                first_name=_first_name(attendees),
                **draft_common(
                    rep,
                    request,
                    recipient_tz=tz,
                    original_subject=_first_subject(ctx.session, request),
                ),
                start=start,
                meeting_link=link,
                meeting_place=request.location,
            ),
            wording_overrides(ctx.session, request),
        )
        draft = written.draft
    except TemplateError as exc:
        return _not_drafted(ctx, request, "reminder", [f"the team's template is broken: {exc}"])
    problems = validate_draft(
        draft,
        kind="reminder",
        allowed_slots=(start,),
        recipient_tz=tz,
        our_tz=rep.timezone,
        links=[link] if link else [],
    )
    if problems:
        return _not_drafted(ctx, request, "reminder", problems)
    audit(ctx, request, "draft_created", "meeting-day reminder drafted for approval")
    return StepResult(
        output={"meeting_start": start.isoformat()},
        actions=[
            ProposedAction(
                action_type=ActionType.email_reminder,
                key="email_reminder",
                action_data=_email_data(job, ctx, "email_reminder", draft, attendees, last),
                reasoning=worded(
                    f"The {request.meeting_type} is {format_slot(start, tz=tz)} their time; "
                    "a short reminder the same morning cuts no-shows.",
                    written,
                ),
                confidence=1.0,
                # A reminder that arrives after the meeting started would only embarrass.
                expires_in=start - ctx.now,
            )
        ],
    )


def record_reminder(job: SequenceJob, ctx: StepContext) -> StepResult:
    request, _, _ = load_request(ctx.session, job)
    action = _job_action(ctx.session, job)
    assert action is not None
    if action.status == ActionStatus.executed and action.result:
        still = request.meeting_start == _payload_start(job)
        if request.status == RequestStatus.confirmed and still:
            request.status = RequestStatus.reminder_sent
            request.updated_at = ctx.now
            ctx.session.add(request)
        audit(ctx, request, "reminder_sent", "meeting-day reminder sent", **_sent(action.result))
    else:
        audit(ctx, request, "reminder_not_sent", f"reminder {action.status}; nothing was sent")
    return StepResult(output={"action_status": action.status})


def _sent(result: dict[str, Any]) -> dict[str, Any]:
    return {"message_id": result.get("message_id")}


# --- meeting_ended ------------------------------------------------------------------------------


def check_key(request_id: uuid.UUID, start: datetime) -> str:
    """The card's `slack_notifications` key: asked once per meeting time."""
    return f"meeting_check:{request_id}:{start_token(start)}"


def meeting_check(
    request: SchedulingRequest,
    attendees: list[SchedulingAttendee],
    rep: Rep,
    *,
    start: datetime,
    end: datetime,
    answer: str | None = None,
    answered_by: str | None = None,
) -> MeetingCheck:
    external = [a for a in attendees if a.side == "external"]
    return MeetingCheck(
        request_id=str(request.id),
        ref=request.ref,
        title=request.title or request.meeting_type,
        prospect=", ".join(a.name or a.email for a in external),
        start=start,
        end=end,
        rep_timezone=rep.timezone,
        answer=answer,
        answered_by=answered_by,
    )


def ask_about_meeting(job: SequenceJob, ctx: StepContext) -> StepResult:
    """DM the rep the Held · No-show · Rescheduled card, once per meeting time."""
    request, rep, attendees = load_request(ctx.session, job)
    start = _payload_start(job)
    if request.status not in BOOKED_STATUSES or request.meeting_start != start:
        why = (
            "the meeting moved"
            if request.status in BOOKED_STATUSES
            else f"request is {request.status}"
        )
        return StepResult(output={"skipped": why}, stop=True)
    assert request.meeting_end is not None
    key = check_key(request.id, start)
    channel = ctx.ports.chat.open_dm(user_id=rep.slack_user_id)
    check = meeting_check(request, attendees, rep, start=start, end=request.meeting_end)
    text, blocks = ctx.ports.cards.meeting(check)
    posted = post_once(
        ctx.session,
        ctx.ports.chat,
        rep=rep,
        kind="meeting_check",
        dedupe_key=key,
        channel=channel,
        now=ctx.now,
        text=text,
        blocks=blocks,
    )
    if posted is None:
        return StepResult(output={"skipped": "already asked"}, stop=True)
    audit(ctx, request, "meeting_check_asked", "asked the rep whether the meeting happened")
    return StepResult(output={"channel": posted.channel, "ts": posted.ts})


# --- meeting_recovery ---------------------------------------------------------------------------

# A reschedule is not a no-show: the counter-proposal's own wording ("that time doesn't work on
# my end") would be wrong too, so this one email says what happened in its place.
RESCHEDULE_WORDING = {
    "counter_proposal.subject": "New time for the {meeting}",
    "counter_proposal.body": (
        "{greeting}\n\n"
        "Happy to find a new time for the {meeting}. Would one of these work?\n{slots}\n\n"
        "If not, send me a time that suits you and I'll make it work.\n\n{signature}"
    ),
}
# The status each recovery leaves the request in while its draft waits, and after it is sent.
RECOVERY = {
    "no_show": (RequestStatus.no_show, RequestStatus.awaiting_response),
    "rescheduled": (RequestStatus.negotiating, RequestStatus.negotiating),
}


def draft_recovery(job: SequenceJob, ctx: StepContext) -> StepResult:
    """Fresh times for a meeting that did not happen.

    A no-show gets the no-show email, its tone set by how many they have missed (seed 000). A
    reschedule asks the rep nothing more: the same fresh times, worded as a new time for the
    meeting, and the request goes back to negotiating. Both skip the slots the meeting just had,
    because fresh times start a day out.
    """
    reason = payload(job, MeetingRecovery).reason
    request, rep, attendees = load_request(ctx.session, job)
    waiting, _ = RECOVERY[reason]
    if request.status != waiting:
        return StepResult(output={"skipped": f"request is {request.status}"}, stop=True)
    start, end = slot_window(request, now=ctx.now)
    found = free_slots(ctx, request=request, rep=rep, attendees=attendees, start=start, end=end)
    slots = [s.start for s in found]
    tz = meeting_zone(request, attendees)
    last = last_outbound(ctx.session, request)
    common: dict[str, Any] = {
        "first_name": _first_name(attendees),
        **draft_common(
            rep, request, recipient_tz=tz, original_subject=_first_subject(ctx.session, request)
        ),
    }
    try:
        if reason == "no_show":
            kind, action_type = "no_show", ActionType.email_no_show
            written = write(
                ctx,
                request,
                NoShowInput(**common, slots=slots, no_show_count=max(1, request.no_show_count)),
                wording_overrides(ctx.session, request),
            )
        else:
            kind, action_type = "counter_proposal", ActionType.email_response
            written = write(
                ctx, request, CounterProposalInput(**common, slots=slots), RESCHEDULE_WORDING
            )
        draft = written.draft
    except TemplateError as exc:
        return _not_drafted(ctx, request, "recovery email", [f"template is broken: {exc}"])
    problems = validate_draft(
        draft, kind=kind, allowed_slots=draft.slots, recipient_tz=tz, our_tz=rep.timezone
    )
    if problems:
        return _not_drafted(ctx, request, "recovery email", problems)
    length = timedelta(minutes=request.duration_minutes)
    offered = tuple(OfferedSlot(s, s + length) for s in draft.slots)
    audit(ctx, request, "draft_created", f"{reason.replace('_', '-')} recovery drafted")
    return StepResult(
        output=DraftRecovery(reason=reason, slots=offered),
        actions=[
            ProposedAction(
                action_type=action_type,
                key=action_type.value,
                action_data=_email_data(
                    job, ctx, action_type.value, draft, attendees, last, tuple(draft.slots)
                ),
                reasoning=worded(_recovery_reasoning(reason, request.no_show_count), written),
                confidence=1.0,
                expires_in=DRAFT_TTL,
            )
        ],
    )


def _recovery_reasoning(reason: str, no_shows: int) -> str:
    if reason == "rescheduled":
        return "You said the meeting was rescheduled; these are fresh times that suit our side."
    times = "once" if no_shows == 1 else f"{no_shows} times"
    return f"They missed the meeting ({times} now); no guilt, fresh times."


def record_recovery(job: SequenceJob, ctx: StepContext) -> StepResult:
    """Sent: follow-ups resume on the usual cadence. Not sent: the request stays where the rep's
    answer left it (no-show or negotiating) with nothing scheduled; the Home tab shows it."""
    reason = payload(job, MeetingRecovery).reason
    request, _, _ = load_request(ctx.session, job)
    action = _job_action(ctx.session, job)
    assert action is not None
    waiting, after = RECOVERY[reason]
    if action.status == ActionStatus.executed and action.result:
        request.attempt_count += 1
        # The times it offered became the request's when it was sent (outbox.offered).
        if request.status == waiting:
            request.status = after
            request.next_action_type = "follow_up"
            delay = follow_up_delay(cadence_for(ctx.session, request=request), follow_ups_sent=0)
            request.next_action_at = follow_up_at(ctx.session, request, earliest=ctx.now + delay)
        audit(
            ctx,
            request,
            "rescheduling_started",
            f"{reason.replace('_', '-')} recovery sent with fresh times",
            **_sent(action.result),
        )
    else:
        audit(ctx, request, "recovery_not_sent", f"recovery email {action.status}; nothing sent")
    request.updated_at = ctx.now
    ctx.session.add(request)
    return StepResult(output={"action_status": action.status})
