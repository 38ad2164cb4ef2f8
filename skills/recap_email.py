"""The follow-up email after a meeting: what each side agreed, from its transcript.

Pure: commitments in, a :class:`~skills.draft_inputs.Draft` out. Only the items Convene may act
on are listed (:attr:`~skills.commitments.Commitment.actionable`); the unsure ones stay on the
rep's card. A due day is written as a date, never as the words said ("by Friday" means another
day once the email is sent a day later). The draft carries no recipient: the orchestrator
addresses it from the request.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from skills.commitments import Commitment
from skills.draft_inputs import Draft

# A recap lists a handful of items; more is a transcript read badly, or a flood.
MAX_ITEMS = 12
MAX_ITEM_CHARS = 240


@dataclass(frozen=True)
class RecapInput:
    first_name: str
    rep_name: str
    meeting_label: str
    subject: str  # the conversation's subject, answered with "Re:" by the caller
    commitments: Sequence[Commitment]


def recap_email(data: RecapInput) -> Draft | None:
    """The recap draft, or ``None`` when nothing agreed is sure enough to write down."""
    sure = [c for c in data.commitments if c.actionable][:MAX_ITEMS]
    if not sure:
        return None
    ours = [_line(c) for c in sure if c.owner == "us" and c.kind != "meeting"]
    theirs = [_line(c) for c in sure if c.owner == "them" and c.kind != "meeting"]
    meetings = [_line(c) for c in sure if c.kind == "meeting"]
    greeting = f"Hi {data.first_name}," if data.first_name else "Hi,"
    parts = [greeting, f"Thanks for your time today. A short recap of the {data.meeting_label}:"]
    if ours:
        parts.append("On our side:\n" + "\n".join(ours))
    if theirs:
        parts.append("On your side:\n" + "\n".join(theirs))
    if meetings:
        parts.append("Next conversations:\n" + "\n".join(meetings))
    parts.append(f"Let me know if I missed anything.\n\nBest,\n{data.rep_name}")
    return Draft(
        subject=data.subject,
        body="\n\n".join(parts),
        kind="recap",
        names=(data.first_name, data.rep_name, data.meeting_label),
    )


def _line(item: Commitment) -> str:
    said = " ".join(item.evidence.split())
    if len(said) > MAX_ITEM_CHARS:
        said = said[: MAX_ITEM_CHARS - 1].rstrip() + "…"
    due = f" (by {item.due_on:%a, %b} {item.due_on.day})" if item.due_on else ""
    return f"- {said}{due}"
