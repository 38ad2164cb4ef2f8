"""Who a draft may go to: the people on the request, never an address read from mail.

An address in a prospect's reply (a delegate, "please loop in …", a Cc) or in a model's answer
is untrusted text: anyone can write one, and a forged reply or an injected prompt would
otherwise pick who receives the rep's email and the meeting invite. Such an address reaches
the request only through the rep's click on a card that shows it (and warns when it is not at
the prospect's domain); see `orchestrator.commands.decision_cards.confirm_recipient`.

Attendees come from the rep's own `/schedule` or from those clicks, so they are the one list
every drafting step addresses from (`on_request`, `reply_to`), and `check` refuses any
proposed action that names someone else: a new step cannot quietly bypass the rule.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlmodel import Session, select

from connectors.errors import PermanentError
from db.models import SchedulingAttendee, SequenceJob
from orchestrator.engine.events import ProposedAction
from orchestrator.engine.outputs import UnderstandReply, output
from orchestrator.views import Proposal, domain_of
from skills.intent_rules import EMAIL_ADDRESS

# RFC 5321's limit; longer is no mailbox anyone can send to, only a way to overflow a card.
MAX_ADDRESS = 254


class UntrustedRecipient(PermanentError):
    """A step proposed an email or invite to someone who is not on the request."""


def attendee(address: str, attendees: Iterable[SchedulingAttendee]) -> SchedulingAttendee | None:
    wanted = address.strip().lower()
    return next((a for a in attendees if a.email.lower() == wanted), None)


def on_request(addresses: Iterable[str], attendees: Sequence[SchedulingAttendee]) -> list[str]:
    """The addresses that belong to attendees, as the request spells them; the rest dropped."""
    found = (attendee(address, attendees) for address in addresses)
    return list(dict.fromkeys(a.email for a in found if a is not None))


def reply_to(sender: str, attendees: Sequence[SchedulingAttendee]) -> list[str]:
    """Whom an answer to `sender` goes to: the sender when on the request, else (a relay's
    or a stranger's address) the people required on their side, who are."""
    if own := on_request([sender], attendees):
        return own
    return [a.email for a in attendees if a.side == "external" and a.required]


def named_in(data: Mapping[str, Any]) -> list[str]:
    """Every address an action's data would send to: to, cc and calendar attendees."""
    guests = [g.get("email", "") for g in data.get("attendees") or () if isinstance(g, dict)]
    return [str(a) for a in [*(data.get("to") or ()), *(data.get("cc") or ()), *guests]]


def load_attendees(session: Session, request_id: uuid.UUID) -> list[SchedulingAttendee]:
    return list(
        session.exec(select(SchedulingAttendee).where(SchedulingAttendee.request_id == request_id))
    )


def check(session: Session, job: SequenceJob, actions: Sequence[ProposedAction]) -> None:
    """Refuse a step's actions when any names an address that is not on the request."""
    # Read from the JSON the outbox will store, whatever shape the step chose for it.
    named = [(a, named_in(a.action_data.to_json())) for a in actions]
    addressed = [(a, names) for a, names in named if names]
    if not addressed:
        return
    attendees = load_attendees(session, job.request_id) if job.request_id else []
    for action, names in addressed:
        strangers = [a for a in names if attendee(a, attendees) is None]
        if strangers:
            raise UntrustedRecipient(
                f"{action.action_type} names {', '.join(strangers)}, who is not on the request"
            )


def proposal(
    *,
    address: str | None,
    name: str | None,
    job_id: uuid.UUID,
    attendees: Sequence[SchedulingAttendee],
) -> Proposal | None:
    """The card's proposal for an address a reply named, or None when there is nothing to
    confirm (no well-formed address, or they are on the request already)."""
    if not address or len(address) > MAX_ADDRESS or not EMAIL_ADDRESS.fullmatch(address.strip()):
        return None
    if attendee(address, attendees) is not None:
        return None
    theirs = (domain_of(a.email) for a in attendees if a.side == "external")
    return Proposal(
        address=address.strip(),
        name=(name or "").strip(),
        job_id=str(job_id),
        prospect_domains=tuple(dict.fromkeys(theirs)),
    )


def proposed_by(
    session: Session, job: SequenceJob, attendees: Sequence[SchedulingAttendee] | None = None
) -> Proposal | None:
    """What an `email_received` job's reply asks us to add, read from its own analysis (the
    rules' reading of the reply, never a model's) rather than from anything a click carries."""
    analysis = output(job, UnderstandReply)
    if job.request_id is None or analysis is None or analysis.intent != "delegate":
        return None
    return proposal(
        address=analysis.delegate_email,
        name=analysis.delegate_name,
        job_id=job.id,
        attendees=attendees if attendees is not None else load_attendees(session, job.request_id),
    )
