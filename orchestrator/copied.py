"""People the prospect copied on their reply: candidates the rep may add to the meeting.

A reply's To and Cc headers are the sender's say, not ours: nobody in them is invited or
written to until the rep presses "Add … to the meeting" under the reply's DM. Buttons carry the
reply and the address's position in its stored headers, never the address, so a click can only
name someone who really was on that email.
"""

from __future__ import annotations

from collections.abc import Sequence

from db.models import EmailMessage, Rep, SchedulingAttendee
from orchestrator.outbox.recipients import attendee

MAX_OFFERED = 3  # a reply copied to a whole department is not a list of guests


def copied_candidates(
    row: EmailMessage, rep: Rep, attendees: Sequence[SchedulingAttendee]
) -> list[tuple[int, str]]:
    """(position in the reply's recipients, address) of each person on the reply who is not
    on the request, nor on our side (the rep's own domain), at most MAX_OFFERED."""
    ours = rep.email.rsplit("@", 1)[-1].lower()
    found: list[tuple[int, str]] = []
    for index, address in enumerate(row.recipients):
        bare = address.strip().lower()
        if "@" not in bare or bare.rsplit("@", 1)[-1] == ours:
            continue
        if bare == row.sender.lower() or attendee(bare, attendees) is not None:
            continue
        if any(bare == seen for _, seen in found):
            continue
        found.append((index, bare))
        if len(found) == MAX_OFFERED:
            break
    return found
