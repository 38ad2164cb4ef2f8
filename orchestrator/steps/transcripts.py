"""`transcript_received`: a meeting's transcript → what each side agreed → a recap draft.

- **plan_due_reminders** starts one `commitment_due` job per thing our side promised by a day;
  its step waits until 9 AM that day in the rep's zone and DMs the rep what they said
  (`remind_commitment`, through the notice gate: quiet hours and the hourly cap hold it).
- **offer_meetings** DMs the rep one card per plan to meet again ("let's find time with your
  CTO next week"): **Set it up** opens the /schedule form filled in with the request's own
  external attendees, where the rep adds whoever else (the transcript names people, never
  addresses); its submit starts a new request (`orchestrator.commands.transcripts`).
- **draft_recap** reads the commitments (`skills.commitments`), our side being the rep and the
  request's internal attendees, theirs its external ones, the meeting's start as "now" for due
  days and the rep's zone; records them on the job, and drafts the recap email to the request's
  prospect (approval). Nothing sure enough to write down: the rep hears of it, nothing drafted.
- **record_recap** audits whether it was sent.

The transcript is untrusted text: it fills the email's body, which the rep reads before Approve,
and never chooses who receives anything: the recipients are the request's own attendees.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from db.models import (
    ActionStatus,
    ActionType,
    EmailMessage,
    MeetingTranscript,
    PendingAction,
    Rep,
    SchedulingAttendee,
    SchedulingRequest,
    SequenceJob,
)
from orchestrator.engine.action_data import EmailData
from orchestrator.engine.event_types import (
    CommitmentDue,
    EventType,
    TranscriptReceived,
    payload,
)
from orchestrator.engine.events import Event, ProposedAction, StepContext, StepResult
from orchestrator.mrkdwn import escape_mrkdwn
from orchestrator.notices.gate import post_once
from orchestrator.notices.post import post_notice
from orchestrator.steps.follow_up import DRAFT_TTL, last_outbound
from orchestrator.steps.scheduling import audit, load_request, message_id
from skills.commitments import Commitment, Sides, extract_commitments
from skills.email_fields import addressed, reply_fields
from skills.recap_email import RecapInput, recap_email

KEY = ActionType.email_recap.value
FIND_TIME = "transcript_find_time"
CARD_KIND = "transcript_meeting"
# A meeting names a few next conversations; more cards than this would be noise.
MAX_MEETING_CARDS = 3
MAX_DUE_REMINDERS = 5
# The rep hears of a commitment on the morning it is due, in their own zone.
REMIND_AT = time(9, 0)


def sides_of(rep: Rep, attendees: list[SchedulingAttendee]) -> Sides:
    ours = [rep.name, rep.email]
    theirs: list[str] = []
    for person in attendees:
        (ours if person.side == "internal" else theirs).extend([person.name, person.email])
    return Sides(ours=tuple(p for p in ours if p), theirs=tuple(p for p in theirs if p))


def read_commitments(
    session: Session, job: SequenceJob
) -> tuple[SchedulingRequest, Rep, list[SchedulingAttendee], list[Commitment]]:
    transcript_id = transcript_of(job)
    transcript = session.get_one(MeetingTranscript, transcript_id)
    request, rep, attendees = load_request(session, job)
    found = extract_commitments(
        transcript.text,
        sides=sides_of(rep, attendees),
        now=request.meeting_start or transcript.received_at,
        tz=rep.timezone,
        fmt=transcript.format,
    )
    return request, rep, attendees, found


def transcript_of(job: SequenceJob) -> uuid.UUID:
    return uuid.UUID(payload(job, TranscriptReceived).transcript_id)


def meetings_to_offer(found: list[Commitment]) -> list[Commitment]:
    return [c for c in found if c.kind == "meeting" and c.actionable][:MAX_MEETING_CARDS]


def card_key(transcript_id: uuid.UUID, index: int) -> str:
    return f"{CARD_KIND}:{transcript_id}:{index}"


def card_text(request: SchedulingRequest, item: Commitment) -> str:
    who = "You" if item.owner == "us" else "They"
    said = escape_mrkdwn(" ".join(item.evidence.split())[:300])
    return (
        f"In the *{escape_mrkdwn(request.ref)}* meeting, {who.lower()} planned another:\n"
        f"> {said}\n"
        "Set it up as a new request? The form starts with who was on this one; add anyone "
        "else yourself. Nothing is sent until you approve the draft."
    )


def card_blocks(text: str, value: str) -> list[dict[str, Any]]:
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": text[:2900]}},
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": FIND_TIME,
                    "style": "primary",
                    "text": {"type": "plain_text", "text": "Set it up"},
                    "value": value,
                }
            ],
        },
    ]


def offer_meetings(job: SequenceJob, ctx: StepContext) -> StepResult:
    """One card per plan to meet again, each claimed before it is posted, so once each."""
    request, rep, _, found = read_commitments(ctx.session, job)
    meetings = meetings_to_offer(found)
    if not meetings:
        return StepResult(output={"cards": 0})
    transcript_id = transcript_of(job)
    channel = ctx.ports.chat.open_dm(user_id=rep.slack_user_id)
    posted = 0
    for index, item in enumerate(meetings):
        text = card_text(request, item)
        if post_once(
            ctx.session,
            ctx.ports.chat,
            rep=rep,
            kind=CARD_KIND,
            dedupe_key=card_key(transcript_id, index),
            channel=channel,
            now=ctx.now,
            text=text,
            blocks=card_blocks(text, f"{transcript_id}:{index}"),
        ):
            posted += 1
    audit(ctx, request, "transcript_meetings_offered", f"{posted} next meetings offered")
    return StepResult(output={"cards": posted})


def plan_due_reminders(job: SequenceJob, ctx: StepContext) -> StepResult:
    """A `commitment_due` job per dated promise of ours, keyed on the transcript and the item,
    so a re-run or a second delivery starts none twice."""
    request, rep, _, found = read_commitments(ctx.session, job)
    transcript_id = transcript_of(job)
    # A plan to meet has its own card; what is left is what we promised, or were asked, to do.
    ours = [
        c
        for c in found
        if c.owner == "us" and c.kind != "meeting" and c.actionable and c.due_on is not None
    ]
    events = []
    for index, item in enumerate(ours[:MAX_DUE_REMINDERS]):
        assert item.due_on is not None
        due_at = datetime.combine(item.due_on, REMIND_AT, tzinfo=ZoneInfo(rep.timezone))
        events.append(
            Event(
                type=EventType.commitment_due,
                org_id=request.org_id,
                idempotency_key=f"commitment_due:{transcript_id}:{index}",
                source="transcript",
                rep_id=rep.id,
                request_id=request.id,
                payload=CommitmentDue(due_at=due_at, evidence=item.evidence[:300]),
            )
        )
    return StepResult(output={"reminders": len(events)}, events=events)


def remind_commitment(job: SequenceJob, ctx: StepContext) -> StepResult:
    due = payload(job, CommitmentDue)
    if ctx.now < due.due_at:
        return StepResult(defer_until=due.due_at)
    request, rep, _ = load_request(ctx.session, job)
    said = escape_mrkdwn(" ".join(due.evidence.split()))
    text = (
        f":spiral_note_pad: Due today, from the *{escape_mrkdwn(request.ref)}* meeting, "
        f"you said:\n> {said}"
    )
    outcome = post_notice(ctx.ports.notices, session=ctx.session, rep_id=rep.id, text=text)
    return StepResult(output={"notice": outcome})


def as_record(item: Commitment) -> dict[str, Any]:
    return {
        "owner": item.owner,
        "kind": item.kind,
        "evidence": item.evidence,
        "speaker": item.speaker,
        "due": item.due_text,
        "due_on": item.due_on.isoformat() if item.due_on else None,
        "confidence": item.confidence,
        "actionable": item.actionable,
        "with_whom": item.with_whom,
    }


def draft_recap(job: SequenceJob, ctx: StepContext) -> StepResult:
    request, rep, attendees, found = read_commitments(ctx.session, job)
    records = [as_record(c) for c in found]
    subject = _first_subject(ctx.session, request) or f"Our {request.meeting_type}"
    prospect = next((a for a in attendees if a.side == "external" and a.required), None)
    draft = recap_email(
        RecapInput(
            first_name=prospect.name.split()[0] if prospect and prospect.name else "",
            rep_name=rep.name or rep.email,
            meeting_label=request.meeting_type,
            subject=subject,
            commitments=found,
        )
    )
    if draft is None or prospect is None:
        why = "no external attendee" if prospect is None else "nothing agreed was clear enough"
        audit(ctx, request, "recap_not_drafted", why, commitments=len(found))
        return StepResult(output={"commitments": records, "skipped": why}, stop=True)
    last = last_outbound(ctx.session, request)
    data = EmailData(
        **addressed(attendees),
        subject=draft.subject,
        body=draft.body,
        message_id=message_id(job, ctx, KEY),
    )
    if last is not None:
        data = replace(data, **reply_fields(last, subject=subject))
    sure = sum(c.actionable for c in found)
    audit(ctx, request, "draft_created", f"meeting recap drafted from {sure} commitments")
    return StepResult(
        output={"commitments": records},
        actions=[
            ProposedAction(
                action_type=ActionType.email_recap,
                key=KEY,
                action_data=data,
                reasoning=recap_reasoning(found),
                confidence=1.0,
                expires_in=DRAFT_TTL,
            )
        ],
    )


def recap_reasoning(found: list[Commitment]) -> str:
    """The card's "Why": what was read, and the unsure items by name, so the rep sees them."""
    sure = sum(c.actionable for c in found)
    unsure = [c for c in found if not c.actionable]
    said = "; ".join(
        f"\u201c{' '.join(c.evidence.split())[:120]}\u201d ({_unsure_why(c)})" for c in unsure[:3]
    )
    more = f" and {len(unsure) - 3} more" if len(unsure) > 3 else ""
    tail = f" Unsure, left out: {said}{more}." if unsure else ""
    things = "thing" if sure == 1 else "things"
    return f"Read from the meeting's transcript: {sure} {things} agreed.{tail}"


def _unsure_why(item: Commitment) -> str:
    return "speaker on neither side" if item.owner == "unknown" else "hedged"


def record_recap(job: SequenceJob, ctx: StepContext) -> StepResult:
    request, _, _ = load_request(ctx.session, job)
    action = ctx.session.exec(select(PendingAction).where(PendingAction.job_id == job.id)).first()
    assert action is not None
    if action.status == ActionStatus.executed:
        audit(ctx, request, "recap_sent", "meeting recap sent")
    else:
        audit(ctx, request, "recap_not_sent", f"recap {action.status}; nothing was sent")
    return StepResult(output={"action_status": action.status})


def _first_subject(session: Session, request: SchedulingRequest) -> str:
    first = session.exec(
        select(EmailMessage.subject)
        .where(EmailMessage.request_id == request.id)
        .where(EmailMessage.direction == "outbound")
        .where(EmailMessage.status == "sent")
        .order_by(col(EmailMessage.sent_at), col(EmailMessage.created_at))
    ).first()
    return first or ""
