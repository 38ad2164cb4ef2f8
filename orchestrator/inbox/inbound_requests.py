"""New mail asking the rep to meet: a card with the times we have free, Offer or Ignore.

An email that is on none of our threads and that :func:`skills.inbound_request.read_inbound`
reads as an ask ("could we get a demo next week?") is recorded with an `inbound_requests` row in
intake's transaction (the message's row is its key, so it is carded once however often the
mailbox is read), then carded after the commit. A card lost to a crash between the two is posted
by the next read of the mailbox (:func:`post_missing_cards`).

Offer starts an ordinary request for the sender — the From address as parsed, never an address
from the text — whose first email answers theirs in the same thread (see
`steps.scheduling.thread_parent`); that draft waits for Approve like every other email. Ignore
records the choice. Either is taken once: the row leaves `carded` by a conditional update.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import update
from sqlmodel import Session, col, select

from connectors.ports import InboundRaw
from db.audit import record_action
from db.models import (
    EmailMessage,
    InboundRequest,
    InboundStatus,
    Rep,
    SchedulingAttendee,
    SchedulingRequest,
)
from orchestrator.commands.meeting_types import meeting_kinds
from orchestrator.commands.new_request import AskAlreadyAnswered, FromInbound, start_scheduling
from orchestrator.deps import Deps
from orchestrator.engine.events import StepContext
from orchestrator.engine.runner import step_ports
from orchestrator.inbox.handlers import Outcome
from orchestrator.inbox.records import record_inbound
from orchestrator.meeting_kinds import MeetingKind, kind_named
from orchestrator.mrkdwn import escape_mrkdwn, owner_only, quote_mrkdwn
from orchestrator.notices.gate import already_sent, post_once
from orchestrator.steps.scheduling import meeting_when, search_window, slot_query
from orchestrator.views import RepProfile, ScheduleCommand
from skills.email_text import clean_body
from skills.find_slots import find_slots
from skills.inbound_request import InboundAsk, asker, read_inbound
from skills.read_email import Classification, InboundEmail

log = structlog.get_logger(__name__)

KIND = "inbound_request"
CARDED, OFFERED, IGNORED = InboundStatus.carded, InboundStatus.offered, InboundStatus.ignored
OFFER, EDIT, IGNORE = "offer_inbound_request", "edit_inbound_request", "ignore_inbound_request"
TIMES_SHOWN = 3
MAX_QUOTE_CHARS = 600


@dataclass(frozen=True)
class Chosen:
    ok: bool
    message: str


def dedupe_key(inbound_id: uuid.UUID) -> str:
    return f"{KIND}:{inbound_id}"


def on_new_mail(
    session: Session,
    *,
    rep: Rep,
    message: InboundRaw,
    email: InboundEmail,
    kind: Classification,
    now: datetime,
) -> Outcome:
    """Mail on none of our threads, from no one on a request: an ask to meet is recorded and
    carded; anything else is not ours (newsletters, colleagues, other business) and is neither
    stored nor processed."""
    if kind.kind != "normal" or email.problem:
        return Outcome("ignored")
    own_domain = rep.email.rsplit("@", 1)[-1]
    ask = read_inbound(email, own_domains=(own_domain,))
    if not ask.asks:
        return Outcome("ignored")
    stored = record_inbound(session, rep=rep, request=None, message=message, email=email, now=now)
    if stored is None:
        return Outcome("duplicates")
    inbound_id = record_ask(session, rep=rep, row_id=stored.row_id, ask=ask, email=email, now=now)

    def post(deps: Deps) -> None:
        post_card(deps, inbound_id=inbound_id)

    return Outcome("inbound_requests", after_commit=[post])


def record_ask(
    session: Session,
    *,
    rep: Rep,
    row_id: uuid.UUID,
    ask: InboundAsk,
    email: InboundEmail,
    now: datetime,
) -> uuid.UUID:
    """The ask's row and its audit line, in intake's transaction; returns the row's id."""
    inbound = InboundRequest(
        org_id=rep.org_id,
        rep_id=rep.id,
        email_message_id=row_id,
        label=ask.label,
        asker=asker(email)[:200],
        reason=ask.phrase[:200],
        created_at=now,
    )
    session.add(inbound)
    record_action(
        session,
        org_id=rep.org_id,
        request_id=None,
        kind="inbound_request",
        actor="system",
        reasoning=f"a new email asks to meet (“{ask.phrase[:120]}”); the rep was shown it",
        details={"email_message_id": str(row_id), "from": email.sender, "label": ask.label},
        now=now,
    )
    return inbound.id


# --- the card ----------------------------------------------------------------------------------


def free_times(deps: Deps, *, rep: Rep, label: str) -> list[datetime]:
    """What the rep's calendar has free in the coming week, as /schedule would find it now,
    for a meeting as long as the team's type of that name.

    The finder's question is asked with a request that is never stored (the request is made
    only on Offer), in a transaction that is rolled back."""
    now = deps.clock.now()
    with deps.uow() as uow:
        kind = kind_named(meeting_kinds(uow.session, org_id=rep.org_id), label)
    request = SchedulingRequest(
        org_id=rep.org_id,
        rep_id=rep.id,
        ref="",
        meeting_type=label,
        duration_minutes=kind.duration_minutes,
        title="",
        timezone=rep.timezone,
        created_at=now,
        updated_at=now,
    )
    organizer = SchedulingAttendee(
        org_id=rep.org_id,
        request_id=request.id,
        side="internal",
        organizer=True,
        email=rep.email,
        timezone=rep.timezone,
        created_at=now,
    )
    start, end = search_window(request, now=now)
    with deps.uow() as uow:
        ctx = StepContext(session=uow.session, ports=step_ports(deps), now=now)
        query = slot_query(
            ctx, request=request, rep=rep, attendees=[organizer], start=start, end=end
        )
    return [slot.start for slot in find_slots(query)]


def card_text(inbound: InboundRequest, email: EmailMessage, times: list[datetime], tz: str) -> str:
    who = escape_mrkdwn(inbound.asker or email.sender)
    subject = escape_mrkdwn(email.subject[:200] or "no subject")
    lines = [
        f":wave: *{who}* asks for a {escape_mrkdwn(inbound.label)} — offer these times?",
        f"From {escape_mrkdwn(email.sender)} · “{subject}”",
        quote_mrkdwn(clean_body(email.body_text)[:MAX_QUOTE_CHARS]),
    ]
    if times:
        shown = "\n".join(f"• {meeting_when(t, rep_tz=tz, prospect_tz=tz)}" for t in times)
        lines.append(f"Free on your calendar:\n{shown}")
    else:
        lines.append("Convene found no free time in the coming week; Offer looks again.")
    lines.append("Nothing is sent until you approve the draft.")
    return "\n".join(lines)


def card_blocks(text: str, inbound_id: uuid.UUID) -> list[dict[str, Any]]:
    def button(action_id: str, label: str, style: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": "button",
            "action_id": action_id,
            "text": {"type": "plain_text", "text": label},
            "value": str(inbound_id),
        }
        if style:
            out["style"] = style
        return out

    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": text[:2900]}},
        {
            "type": "actions",
            "elements": [
                button(OFFER, "Offer", "primary"),
                button(EDIT, "Edit"),
                button(IGNORE, "Ignore"),
            ],
        },
    ]


def post_card(deps: Deps, *, inbound_id: uuid.UUID) -> None:
    """The card, once per message (the notice gate's key). Its times come from the calendar
    now; a calendar that cannot be read leaves them out rather than the card."""
    with deps.uow() as uow:
        inbound = uow.session.get_one(InboundRequest, inbound_id)
        rep = uow.session.get_one(Rep, inbound.rep_id)
        email = uow.session.get_one(EmailMessage, inbound.email_message_id)
    if inbound.status != CARDED:
        return
    try:
        times = free_times(deps, rep=rep, label=inbound.label)[:TIMES_SHOWN]
    except Exception as exc:  # noqa: BLE001 - the card matters more than its times
        log.warning("inbound_request_times_failed", rep_id=str(rep.id), error=repr(exc)[:300])
        times = []
    text = card_text(inbound, email, times, rep.timezone)
    key = dedupe_key(inbound_id)
    try:
        channel = deps.chat.open_dm(user_id=rep.slack_user_id)
        with deps.uow() as uow:
            if post_once(
                uow.session,
                deps.chat,
                rep=rep,
                kind=KIND,
                dedupe_key=key,
                channel=channel,
                now=deps.clock.now(),
                text=text,
                blocks=card_blocks(text, inbound_id),
            ):
                uow.commit()
    except Exception as exc:  # noqa: BLE001 - the next read of the mailbox posts it again
        log.warning("inbound_request_card_failed", rep_id=str(rep.id), error=repr(exc)[:300])


def post_missing_cards(deps: Deps, *, rep: Rep) -> None:
    """Cards recorded but never posted (a crash after intake's commit, Slack down): posted now.
    One indexed read per mailbox read, which almost always finds nothing."""
    with deps.uow() as uow:
        ids = list(
            uow.session.exec(
                select(InboundRequest.id).where(
                    InboundRequest.rep_id == rep.id, InboundRequest.status == CARDED
                )
            )
        )
        posted = already_sent(uow.session, dedupe_keys=[dedupe_key(i) for i in ids])
    for inbound_id in ids:
        if dedupe_key(inbound_id) not in posted:
            post_card(deps, inbound_id=inbound_id)


# --- the rep's choice --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Loaded:
    inbound: InboundRequest
    rep: Rep
    email: EmailMessage
    kind: MeetingKind  # the team's type the ask reads as (its length, place and platform)


def _load(deps: Deps, inbound_id: uuid.UUID) -> _Loaded | None:
    with deps.uow() as uow:
        inbound = uow.session.get(InboundRequest, inbound_id)
        if inbound is None:
            return None
        rep = uow.session.get_one(Rep, inbound.rep_id)
        email = uow.session.get_one(EmailMessage, inbound.email_message_id)
        kinds = meeting_kinds(uow.session, org_id=rep.org_id)
        return _Loaded(inbound, rep, email, kind_named(kinds, inbound.label))


def offer_command(loaded: _Loaded) -> ScheduleCommand:
    """The request Offer starts: the sender, from the From header as stored, and the team's
    meeting type they asked for, as long and where that type says. Their words stay out of it:
    a request's context is the rep's, and the email writes it in."""
    kind = loaded.kind
    return ScheduleCommand(
        meeting_type=loaded.inbound.label,
        emails=(loaded.email.sender,),
        duration_minutes=kind.duration_minutes,
        platform=kind.platform,
        location=kind.location,
    )


def edit_prefill(deps: Deps, *, inbound_id: uuid.UUID) -> tuple[ScheduleCommand, str] | None:
    """What the Edit form opens with, and the rep's zone its dates are read in."""
    loaded = _load(deps, inbound_id)
    if loaded is None:
        return None
    return offer_command(loaded), loaded.rep.timezone


def offer(
    deps: Deps, *, inbound_id: uuid.UUID, slack_user_id: str, command: ScheduleCommand | None = None
) -> Chosen:
    """Offer (or the Edit form's submit, with its `command`): start the request, once."""
    loaded = _load(deps, inbound_id)
    if loaded is None:
        return Chosen(False, "That email is no longer on record.")
    inbound, rep, email = loaded.inbound, loaded.rep, loaded.email
    if not rep.allows(slack_user_id):
        return Chosen(False, owner_only(rep.slack_user_id))
    if inbound.status != CARDED:
        return Chosen(False, f"Already done: this email was {inbound.status}.")
    profile = RepProfile(rep.slack_user_id, rep.email, rep.name or rep.email, rep.timezone)
    try:
        started = start_scheduling(
            deps,
            org_id=rep.org_id,
            profile=profile,
            command=command or offer_command(loaded),
            idempotency_key=f"inbound:{inbound_id}",
            inbound=FromInbound(inbound_id=inbound_id, decided_by=slack_user_id),
        )
    except AskAlreadyAnswered:
        return Chosen(False, "Already done: this email was answered from another card.")
    return Chosen(
        True,
        f"Started *{escape_mrkdwn(started.ref)}* for {escape_mrkdwn(email.sender)}: the draft, "
        "a reply in their thread, waits for your approval.",
    )


def ignore(deps: Deps, *, inbound_id: uuid.UUID, slack_user_id: str) -> Chosen:
    loaded = _load(deps, inbound_id)
    if loaded is None:
        return Chosen(False, "That email is no longer on record.")
    rep, email = loaded.rep, loaded.email
    if not rep.allows(slack_user_id):
        return Chosen(False, owner_only(rep.slack_user_id))
    now = deps.clock.now()
    with deps.uow() as uow:
        won = uow.session.execute(
            update(InboundRequest)
            .where(col(InboundRequest.id) == inbound_id, col(InboundRequest.status) == CARDED)
            .values(status=IGNORED, decided_by=slack_user_id, decided_at=now)
        )
        if won.rowcount != 1:  # type: ignore[attr-defined]
            return Chosen(False, "Already done: this email was answered before.")
        record_action(
            uow.session,
            org_id=rep.org_id,
            request_id=None,
            kind="inbound_request_ignored",
            actor="user",
            reasoning="the rep chose not to offer times",
            details={"email_message_id": str(email.id), "from": email.sender, "by": slack_user_id},
            now=now,
        )
        uow.commit()
    return Chosen(True, "Ignored: nothing was drafted or sent.")
