"""What the prospect was offered: the times in the email they received, nothing else.

A draft records the times it offers (`slots`). When the rep edits its words, the times are
read again from the edited text with the same reader that reads the prospect's replies, and
the card shows what was read, so the rep sees at once when the reading is not what they meant.
When the email goes out, its times become what the request has on offer (`negotiation`) in
the transaction that marks it sent: "the second one" in their answer then means the second
time they saw.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, select

from db.models import PendingAction, SchedulingAttendee, SchedulingRequest, prospect_zone
from orchestrator.engine.action_data import EmailData, action_data
from orchestrator.engine.outputs import OfferedSlot
from orchestrator.negotiation import offered as on_offer
from orchestrator.negotiation import put_on_offer
from skills.parse_times import ParsedTime, extract_times

EXACT = ("minute", "hour")  # a day alone is not a time anyone can book


def times_written(body: str, *, now: datetime, tz: str) -> tuple[datetime, ...]:
    """The bookable times a body names, each once, in the order written.

    An email written for two zones shows each time twice ("9:00 AM GMT (10:00 AM CET)"): a
    time in brackets right after another is that same moment in the other zone, not a second
    one. Each line is read on its own: a list item's dash is not a range to the next line."""
    return _times(list(_readings(body, now=now, tz=tz)))


def zones_disagree(body: str, *, now: datetime, tz: str) -> str | None:
    """Why an edited body can't go out as written: a time and its bracketed twin that are not
    the same moment ("4:00 PM GMT (9:00 AM EST)", one moved and the other not). The prospect
    could not tell which was meant, and neither could we."""
    return _disagreement(list(_readings(body, now=now, tz=tz)))


Reading = tuple[ParsedTime, ParsedTime | None]


def _times(readings: list[Reading]) -> tuple[datetime, ...]:
    times: list[datetime] = []  # in the order written: "the second one" is the second here
    for parsed, echoed in readings:
        if echoed is None and parsed.start not in times:
            times.append(parsed.start)
    return tuple(times)


def _disagreement(readings: list[Reading]) -> str | None:
    for parsed, echoed in readings:
        if echoed is not None and echoed.start != parsed.start:
            twin = parsed.text.strip("()")
            return (
                f"“{echoed.text}” and “({twin})” are different moments: change both so they "
                "name the same time, or remove the one in brackets."
            )
    return None


def _readings(body: str, *, now: datetime, tz: str) -> Iterator[Reading]:
    """Each bookable time written in `body`, with the time it repeats when it is the bracketed
    twin of the one before it (None otherwise); quoted history is skipped."""
    for line in body.splitlines():
        if line.lstrip().startswith(">"):
            continue  # quoted history is theirs, not an offer of ours
        previous: ParsedTime | None = None
        for parsed in extract_times(line, now=now, tz=tz):
            between = line[previous.span[1] : parsed.span[0]] if previous is not None else ""
            echoed = previous if between.strip() == "(" else None
            previous = parsed
            if parsed.excluded or parsed.grain not in EXACT:
                continue
            yield parsed, echoed


def _offers(action: PendingAction) -> bool:
    """Whether the draft is one that offers times (its `slots` are recorded)."""
    try:
        data = action_data(action, EmailData, edited=False)
    except Exception:  # noqa: BLE001 - not an email: it offers nothing
        return False
    return data.slots is not None


def _recipient_zone(session: Session, action: PendingAction) -> str | None:
    request = session.get(SchedulingRequest, action.request_id) if action.request_id else None
    if request is None:
        return None
    to = {a.lower() for a in action_data(action, EmailData).to}
    external = session.exec(
        select(SchedulingAttendee)
        .where(SchedulingAttendee.request_id == request.id)
        .where(SchedulingAttendee.side == "external")
    ).all()
    return prospect_zone(request, [a for a in external if a.email.lower() in to] + list(external))


def reread_edit(
    session: Session, action: PendingAction, edits: dict[str, Any], *, now: datetime
) -> tuple[dict[str, Any], str | None]:
    """`edits` to a draft's words, with the times its new body offers when it is a draft that
    offers times (a new body replaces the recorded ones; no body, no change); or, second, why
    the body can't be kept as written (shown under the modal's body field)."""
    if "body" not in edits or not _offers(action):
        return edits, None
    tz = _recipient_zone(session, action)
    if tz is None:
        return edits, None
    readings = list(_readings(str(edits["body"]), now=now, tz=tz))
    if problem := _disagreement(readings):
        return edits, problem
    return {**edits, "slots": [t.isoformat() for t in _times(readings)]}, None


def record_offered(session: Session, action: PendingAction, *, now: datetime) -> None:
    """The sent email's times are what the request has on offer now (in the transaction that
    marks it sent). An email drafted to offer times replaces the offer even when the rep's edit
    took every time out; one drafted without (an answer to a question) changes it only when
    the rep wrote times into it."""
    if action.request_id is None or not _offers(action):
        return
    request = session.get(SchedulingRequest, action.request_id)
    if request is None:
        return
    offered = action_data(action, EmailData).slots or ()
    if not offered and not action_data(action, EmailData, edited=False).slots:
        return
    length = timedelta(minutes=request.duration_minutes)
    known = {slot.start: slot for slot in on_offer(request)}
    sent = [known.get(start) or OfferedSlot(start, start + length) for start in offered]
    put_on_offer(request, sent, now=now)
    session.add(request)
