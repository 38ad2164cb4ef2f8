"""A prospect's "no" or "maybe" to the invite of a booked meeting: a decision card for the rep.

Their calendar answers our invite with METHOD:REPLY (`handlers._on_calendar_reply` records
it on the attendee). An acceptance needs nothing more; a decline or a tentative answer means
the meeting may happen without them, so the rep chooses: fresh times, keep the meeting, take
it over, or cancel. What they typed with the answer (the invite's COMMENT, else the email's
own text) is on the card, escaped.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

import structlog

from db.models import Rep, SchedulingRequest
from orchestrator.commands.decision_cards import decision_view
from orchestrator.deps import Deps
from orchestrator.engine.outputs import Assess
from orchestrator.mrkdwn import escape_mrkdwn, quote_mrkdwn
from orchestrator.notices.gate import post_once
from orchestrator.notices.post import post_notice
from orchestrator.views import when_for_rep
from skills.email_text import clean_body
from skills.read_email import InboundEmail

log = structlog.get_logger(__name__)

# invite status -> the decision the rep is asked for (`commands.decision_cards.CHOICES`).
INVITE_DECISIONS = {"declined": "invite_declined", "tentative": "invite_tentative"}
WORDS = {"declined": "declined", "tentative": "answered *maybe* to"}
KIND = "invite_answer"
MAX_COMMENT = 1000
_COMMENT = re.compile(r"^COMMENT[^:\n]*:(.*)$", re.IGNORECASE | re.MULTILINE)


def invite_comment(email: InboundEmail) -> str:
    """What they wrote with their answer: the invite's COMMENT, else the email's new text."""
    unfolded = re.sub(r"\r?\n[ \t]", "", email.calendar or "")
    found = _COMMENT.search(unfolded)
    if found:
        text = re.sub(r"\\([,;\\])", r"\1", found.group(1)).replace("\\n", "\n").strip()
    else:
        text = clean_body(email.text)
    return text[:MAX_COMMENT]


def invite_answer_card(
    *, request_id: uuid.UUID, who: str, status: str, comment: str
) -> Callable[[Deps], None]:
    """What posts the card once the answer's transaction has committed. A card that cannot
    be posted becomes a plain notice, which the clock keeps retrying."""

    def post(deps: Deps) -> None:
        text = ""
        rep_id: uuid.UUID | None = None
        try:
            with deps.uow() as uow:
                request = uow.session.get_one(SchedulingRequest, request_id)
                rep = uow.session.get_one(Rep, request.rep_id)
                rep_id = rep.id
                text = _summary(request, rep, who=who, status=status, comment=comment)
                decision = Assess(
                    next_action="waiting_for_decision",
                    subtype=INVITE_DECISIONS[status],
                    needs_rep=True,
                    summary=f"{who} {WORDS[status].replace('*', '')} the meeting invite",
                )
                fallback, blocks = deps.cards.decision(
                    decision_view(request, rep, decision, reply=text)
                )
                channel = deps.chat.open_dm(user_id=rep.slack_user_id)
                key = f"{KIND}:{request.id}:{status}:{request.meeting_start}:{comment[:40]}"
                if post_once(
                    uow.session,
                    deps.chat,
                    rep=rep,
                    kind=KIND,
                    dedupe_key=key,
                    channel=channel,
                    now=deps.clock.now(),
                    text=fallback,
                    blocks=blocks,
                ):
                    uow.commit()
        except Exception as exc:  # noqa: BLE001 - falls back to a notice below
            log.warning("invite_answer_card_failed", request_id=str(request_id), error=repr(exc))
            if rep_id is not None and text:
                post_notice(deps.notices, rep_id=rep_id, text=text)

    return post


def _summary(request: SchedulingRequest, rep: Rep, *, who: str, status: str, comment: str) -> str:
    when = (
        f" on {when_for_rep(request.meeting_start, rep.timezone)}" if request.meeting_start else ""
    )
    lines = [
        f":calendar: *{escape_mrkdwn(request.ref)}* · {escape_mrkdwn(who)} {WORDS[status]} "
        f"the invite{when}.",
        quote_mrkdwn(comment or "(no comment)"),
        "The meeting is still on the calendar. Nothing has been sent to them.",
    ]
    return "\n".join(lines)
