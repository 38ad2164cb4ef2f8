"""Steps of the `follow_up_due` sequence: check the stop rules → draft a nudge in the thread with
fresh times → record what the rep decided and set the next nudge.

The clock (`orchestrator.timers.due`) starts this sequence when a request's `next_action_at` passes;
nothing here sends anything: the draft is a pending action like every other email.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from connectors.errors import PermanentError
from db.models import (
    STOPPED_STATUSES,
    ActionStatus,
    ActionType,
    EmailMessage,
    PendingAction,
    RequestOutcome,
    RequestStatus,
    SchedulingAction,
    SchedulingAttendee,
    SchedulingRequest,
    SequenceJob,
    prospect_zone,
)
from orchestrator.cadence import (
    cadence_for,
    follow_up_at,
    follow_up_delay,
    stop_reason,
    unanswered_emails,
)
from orchestrator.engine.action_data import FollowUpData
from orchestrator.engine.events import ProposedAction, StepContext, StepResult
from orchestrator.engine.outputs import CheckFollowUp, DraftFollowUp, OfferedSlot, required
from orchestrator.event_state import store_event_state
from orchestrator.mrkdwn import escape_mrkdwn
from orchestrator.notices.post import post_notice
from orchestrator.steps.drafting import worded, write
from orchestrator.steps.meeting_times import wording_overrides
from orchestrator.steps.scheduling import (
    audit,
    draft_common,
    fold_rep_note,
    free_slots,
    job_actions,
    load_request,
    message_id,
)
from orchestrator.webhooks.events import WebhookEvent, record_event
from skills.draft_email import FollowUpInput
from skills.draft_inputs import TemplateError, follow_up_tone
from skills.draft_validation import validate_draft
from skills.email_fields import addressed, reply_fields

# Silence is only silence in these states; any other means the conversation moved on.
# `negotiating` counts: after our counter-proposal or answer goes out, the ball is theirs again.
FOLLOW_UP_STATUSES = (
    RequestStatus.awaiting_response,
    RequestStatus.proposing,
    RequestStatus.negotiating,
)
# A follow-up draft the rep has not decided within a day is stale; its earliest slot is never
# sooner than this, so no offered time can pass while the draft waits.
DRAFT_TTL = timedelta(hours=24)
DEFAULT_WINDOW = timedelta(days=7)
# A preferred date range with less than this left is treated as passed.
MIN_WINDOW = timedelta(days=2)


def last_outbound(session: Session, request: SchedulingRequest) -> EmailMessage | None:
    """Our newest sent email on the request: a follow-up or reminder answers it in-thread."""
    return session.exec(
        select(EmailMessage)
        .where(EmailMessage.request_id == request.id)
        .where(EmailMessage.direction == "outbound")
        .where(EmailMessage.status == "sent")
        .order_by(col(EmailMessage.sent_at).desc(), col(EmailMessage.created_at).desc())
    ).first()


def _last_reply(ctx: StepContext, request: SchedulingRequest) -> SchedulingAction | None:
    # The `email_received` sequence records every understood reply (with its sentiment);
    # auto-replies and bounces are recorded under other names and don't count as replies.
    return ctx.session.exec(
        select(SchedulingAction)
        .where(SchedulingAction.request_id == request.id)
        .where(SchedulingAction.action_type == "reply_received")
        .order_by(col(SchedulingAction.created_at).desc())
    ).first()


def _kept_open_since(ctx: StepContext, request: SchedulingRequest, reply: SchedulingAction) -> bool:
    """Whether the rep answered a card about this reply (or a later one) with "Keep it open"."""
    choices = ctx.session.exec(
        select(SchedulingAction.details)
        .where(SchedulingAction.request_id == request.id)
        .where(SchedulingAction.action_type == "decision_made")
        .where(col(SchedulingAction.created_at) >= reply.created_at)
    ).all()
    return any(details.get("choice") == "keep_open" for details in choices)


def _resumed_after_stop(ctx: StepContext, request: SchedulingRequest) -> bool:
    """Whether the rep resumed the request since Convene last stopped chasing it, and no
    follow-up has gone out since. (A resume may share the stop's moment, never precede it.)"""
    latest = {
        kind: ctx.session.exec(
            select(SchedulingAction.created_at)
            .where(SchedulingAction.request_id == request.id)
            .where(SchedulingAction.action_type == kind)
            .order_by(col(SchedulingAction.created_at).desc())
        ).first()
        for kind in ("follow_ups_stopped", "request_resumed", "follow_up_sent")
    }
    stopped, resumed, sent = (
        latest["follow_ups_stopped"],
        latest["request_resumed"],
        latest["follow_up_sent"],
    )
    if stopped is None or resumed is None or resumed < stopped:
        return False
    return sent is None or sent < resumed


def _clear_next(request: SchedulingRequest) -> None:
    request.next_action_at = None
    request.next_action_type = None


# --- check_follow_up ---------------------------------------------------------------------------


def check_follow_up(job: SequenceJob, ctx: StepContext) -> StepResult:
    """Stop rules first: a nudge that should not go out is never drafted."""
    request, _, _ = load_request(ctx.session, job)
    if request.status in STOPPED_STATUSES:
        return StepResult(output={"skipped": f"request is {request.status}"}, stop=True)
    reply = _last_reply(ctx, request)
    # After reading their reply the rep chose "Keep it open": chasing goes on despite it.
    kept_open = reply is not None and _kept_open_since(ctx, request, reply)
    reason = stop_reason(
        cadence=cadence_for(ctx.session, request=request),
        unanswered=unanswered_emails(ctx.session, request),
        no_show_count=request.no_show_count,
        created_at=request.created_at,
        now=ctx.now,
        negative_reply=(
            reply is not None and reply.details.get("sentiment") == "negative" and not kept_open
        ),
    )
    negative = reply is not None and reply.details.get("sentiment") == "negative"
    if reason is not None and not negative and _resumed_after_stop(ctx, request):
        # The rep resumed after Convene stopped chasing: one more nudge goes out, and the
        # rules apply again to the one after it.
        reason = None
    if reason is not None:
        _stop(ctx, request, reason, silence=not negative)
        return StepResult(output={"stopped": reason}, stop=True)
    last = last_outbound(ctx.session, request)
    replied = (
        reply is not None
        and (last is None or last.sent_at is None or reply.created_at >= last.sent_at)
        and not kept_open
    )
    if request.status not in FOLLOW_UP_STATUSES or replied:
        # The reply's own sequence decides what happens next; a nudge now would talk over it.
        _clear_next(request)
        request.updated_at = ctx.now
        ctx.session.add(request)
        why = "they replied" if replied else f"request is {request.status}"
        audit(ctx, request, "follow_up_skipped", why)
        return StepResult(output={"skipped": why}, stop=True)
    return StepResult(output=CheckFollowUp(attempt=request.attempt_count))


def _stop(ctx: StepContext, request: SchedulingRequest, reason: str, *, silence: bool) -> None:
    request.paused_from = request.status
    request.status = RequestStatus.paused
    _clear_next(request)
    request.updated_at = ctx.now
    ctx.session.add(request)
    text = (
        f":pause_button: *{escape_mrkdwn(request.ref)}* · Convene stopped following up "
        f"on {escape_mrkdwn(request.title or request.meeting_type)}: {reason}. "
        "The request is paused and nothing more will be sent automatically."
    )
    if silence:
        # Convene gave up on them (seed 000's stop rules); a negative reply is no such verdict,
        # so it records nothing and the rep's card decides how it ends.
        request.outcome = RequestOutcome.gave_up
        record_event(
            ctx.session, request, WebhookEvent.gave_up, now=ctx.now, occurrence=str(ctx.now)
        )
        # Seed 003: an unresponsive prospect leaves no path forward; closing is the rep's call
        # (the Home tab and the morning brief show it as a decision waiting for them).
        store_event_state(ctx.session, request, "recommend_cancel", reasoning=reason, now=ctx.now)
        ref = escape_mrkdwn(request.ref)
        text += (
            f" Convene recommends closing it: `/schedule cancel {ref}`, "
            f"or `/schedule resume {ref}` to keep it open."
        )
    audit(ctx, request, "follow_ups_stopped", reason)  # last: what the Home tab shows
    post_notice(ctx.ports.notices, session=ctx.session, rep_id=request.rep_id, text=text)


# --- draft_follow_up ---------------------------------------------------------------------------


def slot_window(request: SchedulingRequest, *, now: datetime) -> tuple[datetime, datetime]:
    """Where to look for fresh times: the rep's range if enough of it is left, else a week
    from the earliest time that cannot pass before the draft expires."""
    earliest = now + DRAFT_TTL
    start = max(request.date_range_start or earliest, earliest)
    end = request.date_range_end
    if end is None or end - start < MIN_WINDOW:
        end = start + DEFAULT_WINDOW
    return start, end


def draft_follow_up(job: SequenceJob, ctx: StepContext) -> StepResult:
    request, rep, attendees = load_request(ctx.session, job)
    last = last_outbound(ctx.session, request)
    if last is None:
        raise PermanentError("no email has gone out on this request, so there is no thread")
    attempt = required(job, CheckFollowUp).attempt
    start, end = slot_window(request, now=ctx.now)
    slots = free_slots(ctx, request=request, rep=rep, attendees=attendees, start=start, end=end)
    external = [a for a in attendees if a.side == "external"]
    prospect = external[0]
    recipient_tz = prospect_zone(request, [prospect])
    try:
        written = write(
            ctx,
            request,
            FollowUpInput(
                first_name=prospect.name.split()[0] if prospect.name else "",
                **draft_common(
                    rep, request, recipient_tz=recipient_tz, original_subject=last.subject
                ),
                slots=[s.start for s in slots],
                attempt=attempt,
            ),
            wording_overrides(ctx.session, request),
        )
        draft = written.draft
    except TemplateError as exc:
        return _not_drafted(ctx, request, [f"the team's follow-up template is broken: {exc}"])
    problems = validate_draft(
        draft,
        kind="follow_up",
        allowed_slots=draft.slots,
        recipient_tz=recipient_tz,
        our_tz=rep.timezone,
    )
    if problems:
        return _not_drafted(ctx, request, problems)
    offered = tuple(
        OfferedSlot(s.start, s.end, tuple(s.reasons)) for s in slots if s.start in draft.slots
    )
    tone = follow_up_tone(attempt)
    audit(ctx, request, "draft_created", f"follow-up {attempt} ({tone}) drafted for approval")
    return StepResult(
        output=DraftFollowUp(attempt=attempt, tone=tone, slots=offered),
        actions=[
            ProposedAction(
                action_type=ActionType.email_follow_up,
                key="email_follow_up",
                action_data=_email_data(
                    job, ctx, draft.subject, draft.body, last, attendees, offered, attempt, tone
                ),
                reasoning=worded(
                    _reasoning(last, attempt=attempt, tone=tone, now=ctx.now), written
                ),
                confidence=1.0,
                expires_in=DRAFT_TTL,
            )
        ],
    )


def _email_data(
    job: SequenceJob,
    ctx: StepContext,
    subject: str,
    body: str,
    last: EmailMessage,
    attendees: list[SchedulingAttendee],
    offered: tuple[OfferedSlot, ...],
    attempt: int,
    tone: str,
) -> FollowUpData:
    """Who and how: the initial email's recipients, threaded under the last email we sent."""
    return FollowUpData(
        **addressed(attendees),
        body=body,
        message_id=message_id(job, ctx, "email_follow_up"),
        **reply_fields(last, subject=subject),
        slots=tuple(s.start for s in offered),
        attempt=attempt,
        tone=tone,
    )


def _reasoning(last: EmailMessage, *, attempt: int, tone: str, now: datetime) -> str:
    sent = last.sent_at or last.created_at
    hours = int((now - sent).total_seconds() // 3600)
    waited = f"{hours // 24} days" if hours >= 48 else f"{hours} hours"
    return f"No reply {waited} after the last email; follow-up {attempt} ({tone} tone), fresh times"


def _not_drafted(ctx: StepContext, request: SchedulingRequest, problems: list[str]) -> StepResult:
    """A draft that fails the checks never reaches the outbox; the rep hears why instead."""
    _clear_next(request)
    request.updated_at = ctx.now
    ctx.session.add(request)
    audit(ctx, request, "draft_rejected_by_checks", "; ".join(problems))
    post_notice(
        ctx.ports.notices,
        session=ctx.session,
        rep_id=request.rep_id,
        text=(
            f":warning: *{escape_mrkdwn(request.ref)}* · Convene could not write a follow-up "
            f"it is sure of ({escape_mrkdwn('; '.join(problems))}). Nothing was sent and no "
            "more follow-ups are scheduled; write to them yourself or `/schedule cancel`."
        ),
    )
    return StepResult(output={"problems": problems}, stop=True)


# --- record_follow_up --------------------------------------------------------------------------


def record_follow_up(job: SequenceJob, ctx: StepContext) -> StepResult:
    """After the rep decided: count the send and set the next nudge, or note why none went."""
    request, _, _ = load_request(ctx.session, job)
    action = ctx.session.exec(job_actions(job, ActionType.email_follow_up)).one()
    if action.status == ActionStatus.executed and action.result:
        _record_sent(job, ctx, request, action)
    elif action.status == ActionStatus.expired:
        # Paused with the follow-up still due: `/schedule resume` brings it back in an hour.
        request.paused_from = request.status
        request.status = RequestStatus.paused
        request.next_action_type = "follow_up"
        request.next_action_at = ctx.now
        audit(ctx, request, "request_paused", "follow-up draft expired undecided; nothing sent")
    elif action.status == ActionStatus.superseded:
        # They wrote back: the reply's own sequence sets what comes next.
        audit(ctx, request, "follow_up_not_sent", "they replied before it went; nothing sent")
    else:
        fold_rep_note(ctx, request, action)  # times it rules out stay out of later drafts
        _clear_next(request)
        audit(
            ctx,
            request,
            "follow_up_not_sent",
            f"follow-up {action.status}; no more follow-ups are scheduled",
        )
    request.updated_at = ctx.now
    ctx.session.add(request)
    return StepResult(output={"action_status": action.status})


def _record_sent(
    job: SequenceJob, ctx: StepContext, request: SchedulingRequest, action: PendingAction
) -> None:
    assert action.result is not None
    request.attempt_count += 1
    # The times it offered became the request's when it was sent (outbox.offered).
    if request.email_thread_id is None:
        request.email_thread_id = action.result["thread_id"]
    audit(
        ctx,
        request,
        "follow_up_sent",
        f"follow-up {request.attempt_count - 1} sent",
        message_id=action.result["message_id"],
    )
    if request.status in FOLLOW_UP_STATUSES:
        request.status = RequestStatus.awaiting_response
    elif request.status != RequestStatus.paused:
        # They replied while the draft waited: the reply's sequence owns what comes next.
        _clear_next(request)
        return
    cadence = cadence_for(ctx.session, request=request)
    request.next_action_type = "follow_up"
    request.next_action_at = follow_up_at(
        ctx.session,
        request,
        earliest=ctx.now + follow_up_delay(cadence, follow_ups_sent=request.attempt_count - 1),
    )
