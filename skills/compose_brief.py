"""The morning brief's content (seed 002's mock, cut to scheduling): today's meetings, what needs
the rep, and how their requests are doing. Plain data in, plain data out; rendering is Slack's
business (bot/brief_blocks.py) and reading the database and the calendar the orchestrator's.

Today's meetings come from the rep's calendar when it could be read: every busy stretch, with
the ones that are the rep's booked requests named (and those Convene put there marked), and a
booked request missing from the calendar flagged. When the calendar could not be read, the brief
says so and falls back to the meetings Convene's own records have booked.

Precision over recall: a rep with nothing booked today, nothing to decide and nothing at risk
gets no brief at all, so a brief that does arrive is worth reading.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from skills.intervals import subtract

BOOKED = ("confirmed", "reminder_sent")
IN_FLIGHT = ("initiated", "proposing", "awaiting_response", "negotiating", "confirming")
# Pulse rows in the order a rep reads them; statuses not listed are not counted.
PULSE_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("waiting for a reply", ("initiated", "proposing", "awaiting_response")),
    ("in negotiation", ("negotiating", "confirming")),
    ("booked", BOOKED),
    ("paused", ("paused",)),
    ("no-show", ("no_show",)),
)
# "Close to" the stop rules: one email or five days before a request gives up.
AT_RISK_ATTEMPTS_LEFT = 1
AT_RISK_DAYS_LEFT = 5

AttentionKind = Literal["approval", "failed_send", "paused", "no_show", "decision", "meeting_check"]
# How a waiting decision (seed 003 subtype) reads in the brief.
DECISIONS = {
    "get_alternatives": "they turned down our times twice; offer new ones or let it go",
    "reschedule": "their alternatives are in; pick a time",
    "resolve_conflict": "no time suits everyone; choose how to proceed",
    "recommend_cancel": "Convene recommends closing it",
    "unusual": "a reply needs you",
}
# Why the calendar could not be read: a hiccup, or a grant only the rep can renew.
CalendarProblem = Literal["", "unavailable", "reconnect"]
CALENDAR_NOTES: dict[CalendarProblem, str] = {
    "": "",
    "unavailable": "I couldn't read your calendar this morning, so these are only the meetings "
    "I have booked.",
    "reconnect": "I couldn't read your calendar: access was revoked. `/schedule connect` fixes "
    "it; until then these are only the meetings I have booked.",
}


@dataclass(frozen=True, kw_only=True)
class RequestInfo:
    ref: str
    title: str
    status: str
    unanswered: int  # our asking emails since their last reply (the stop rule's count)
    created_at: datetime
    meeting_start: datetime | None = None
    meeting_end: datetime | None = None
    prospect: str = ""  # who the meeting is with, as the rep knows them
    paused_reason: str = ""
    calendar_event_id: str | None = None  # set when Convene put the meeting on the calendar
    decision: str | None = None  # the seed 003 subtype waiting for the rep, if any
    request_id: str = ""  # what a decision or meeting-check item's buttons act on


@dataclass(frozen=True, kw_only=True)
class BusyTime:
    """A busy stretch on the rep's calendar (free/busy carries no titles)."""

    start: datetime
    end: datetime


@dataclass(frozen=True, kw_only=True)
class ActionInfo:
    action_id: str
    ref: str
    title: str  # what kind of draft, e.g. "Follow-up email"
    status: str  # pending | failed
    to: tuple[str, ...] = ()
    error: str = ""


@dataclass(frozen=True, kw_only=True)
class MeetingLine:
    """A meeting today: one of the rep's booked requests (`ref` set) or other calendar time."""

    ref: str
    title: str
    start: datetime
    end: datetime | None
    prospect: str
    booked_by_convene: bool = False
    on_calendar: bool | None = None  # None: the calendar was not read


@dataclass(frozen=True, kw_only=True)
class AttentionItem:
    kind: AttentionKind
    ref: str
    text: str
    action_id: str | None = None  # the pending action its buttons decide
    request_id: str = ""  # the request a decision or meeting-check item's buttons act on
    meeting_start: datetime | None = None  # the meeting a meeting-check item asks about


@dataclass(frozen=True, kw_only=True)
class AtRisk:
    ref: str
    title: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class Brief:
    greeting: str
    timezone: str
    day: date
    meetings: tuple[MeetingLine, ...]
    attention: tuple[AttentionItem, ...]
    pulse: tuple[tuple[str, int], ...]
    at_risk: tuple[AtRisk, ...]
    calendar_note: str = ""  # why the meetings come from Convene's records, not the calendar


def compose_brief(
    *,
    rep_name: str,
    timezone: str,
    now: datetime,
    requests: Sequence[RequestInfo],
    actions: Sequence[ActionInfo],
    max_attempts: int = 5,
    max_days: int = 21,
    calendar: Sequence[BusyTime] | None = None,
    calendar_problem: CalendarProblem = "",
) -> Brief | None:
    """The brief for the rep's local day containing ``now``, or None with nothing to say.

    ``calendar`` is the rep's busy time over that day, or None when it could not be read
    (``calendar_problem`` says why); a problem alone is not worth a brief.
    """
    zone = ZoneInfo(timezone)
    today = now.astimezone(zone).date()
    if calendar is None:
        meetings = _todays_meetings(requests, zone=zone, today=today)
    else:
        meetings = _calendar_meetings(requests, calendar, zone=zone, today=today)
    attention = _attention(requests, actions, now=now)
    at_risk = _at_risk(requests, now=now, max_attempts=max_attempts, max_days=max_days)
    if not (meetings or attention or at_risk):
        return None
    first = rep_name.split()[0] if rep_name.strip() else ""
    weekday = f"{today:%A}"
    greeting = f"Good morning, {first}. Here's your {weekday}." if first else f"Your {weekday}."
    return Brief(
        greeting=greeting,
        timezone=timezone,
        day=today,
        meetings=meetings,
        attention=attention,
        pulse=_pulse(requests),
        at_risk=at_risk,
        calendar_note=CALENDAR_NOTES[calendar_problem] if calendar is None else "",
    )


def _booked_today(
    requests: Sequence[RequestInfo], *, zone: ZoneInfo, today: date
) -> list[tuple[RequestInfo, datetime]]:
    return [
        (r, r.meeting_start)
        for r in requests
        if r.status in BOOKED
        and r.meeting_start is not None
        and r.meeting_start.astimezone(zone).date() == today
    ]


def _request_line(r: RequestInfo, start: datetime, on_calendar: bool | None) -> MeetingLine:
    return MeetingLine(
        ref=r.ref,
        title=r.title,
        start=start,
        end=r.meeting_end,
        prospect=r.prospect,
        booked_by_convene=r.calendar_event_id is not None,
        on_calendar=on_calendar,
    )


def _todays_meetings(
    requests: Sequence[RequestInfo], *, zone: ZoneInfo, today: date
) -> tuple[MeetingLine, ...]:
    """From Convene's records alone: the booked requests meeting today."""
    lines = [
        _request_line(r, start, None)
        for r, start in _booked_today(requests, zone=zone, today=today)
    ]
    return tuple(sorted(lines, key=lambda m: m.start))


def _calendar_meetings(
    requests: Sequence[RequestInfo],
    busy: Sequence[BusyTime],
    *,
    zone: ZoneInfo,
    today: date,
) -> tuple[MeetingLine, ...]:
    """The calendar's busy time today, with the rep's booked requests named where they sit."""
    day_start = datetime.combine(today, time(), zone)
    day_end = datetime.combine(today + timedelta(days=1), time(), zone)
    lines: list[MeetingLine] = []
    named: list[tuple[datetime, datetime]] = []
    for r, start in _booked_today(requests, zone=zone, today=today):
        end = r.meeting_end or start
        holding = [b for b in busy if b.start <= start < b.end and end <= b.end]
        lines.append(_request_line(r, start, bool(holding)))
        if holding:
            # With no known end, the busy stretch it sits in is taken to be the meeting.
            named.append((start, r.meeting_end or holding[0].end))
    for block in busy:
        span = (max(block.start, day_start), min(block.end, day_end))
        # What is left of the busy stretch outside the named meetings it holds.
        for start, end in subtract([span], sorted(named)):
            lines.append(
                MeetingLine(ref="", title="", start=start, end=end, prospect="", on_calendar=True)
            )
    return tuple(sorted(lines, key=lambda m: m.start))


def _attention(
    requests: Sequence[RequestInfo], actions: Sequence[ActionInfo], *, now: datetime
) -> tuple[AttentionItem, ...]:
    items: list[AttentionItem] = []
    for action in actions:
        to = ", ".join(action.to) or "the prospect"
        if action.status == "pending":
            items.append(
                AttentionItem(
                    kind="approval",
                    ref=action.ref,
                    text=f"{action.title} to {to} is waiting for your approval",
                    action_id=action.action_id,
                )
            )
        elif action.status == "failed":
            reason = f": {action.error}" if action.error else ""
            items.append(
                AttentionItem(
                    kind="failed_send",
                    ref=action.ref,
                    text=f"{action.title} to {to} failed to send{reason}",
                    action_id=action.action_id,
                )
            )
    for request in requests:
        if request.status == "paused":
            why = f": {request.paused_reason}" if request.paused_reason else ""
            items.append(
                AttentionItem(
                    kind="paused", ref=request.ref, text=f"{request.title} is paused{why}"
                )
            )
        elif request.status == "no_show":
            items.append(
                AttentionItem(
                    kind="no_show",
                    ref=request.ref,
                    text=f"{request.title}: they missed the meeting; decide what's next",
                )
            )
        elif request.decision in DECISIONS:
            items.append(
                AttentionItem(
                    kind="decision",
                    ref=request.ref,
                    text=f"{request.title}: {DECISIONS[request.decision]}",
                    request_id=request.request_id,
                )
            )
        elif _unanswered_check(request, now):
            items.append(
                AttentionItem(
                    kind="meeting_check",
                    ref=request.ref,
                    text=f"{request.title}: did the meeting happen?",
                    request_id=request.request_id,
                    meeting_start=request.meeting_start,
                )
            )
    return tuple(items)


def _unanswered_check(request: RequestInfo, now: datetime) -> bool:
    """A booked meeting that has ended but nobody said how it went."""
    booked = request.status in BOOKED
    return booked and request.meeting_end is not None and request.meeting_end < now


def _pulse(requests: Sequence[RequestInfo]) -> tuple[tuple[str, int], ...]:
    counts = Counter(r.status for r in requests)
    rows = [(label, sum(counts[s] for s in statuses)) for label, statuses in PULSE_GROUPS]
    return tuple((label, n) for label, n in rows if n)


def _at_risk(
    requests: Sequence[RequestInfo], *, now: datetime, max_attempts: int, max_days: int
) -> tuple[AtRisk, ...]:
    found: list[AtRisk] = []
    for r in requests:
        if r.status not in IN_FLIGHT:
            continue
        age = now - r.created_at
        if r.unanswered >= max_attempts - AT_RISK_ATTEMPTS_LEFT:
            reason = f"{r.unanswered} of {max_attempts} emails unanswered"
        elif age >= timedelta(days=max_days - AT_RISK_DAYS_LEFT):
            reason = f"open {age.days} days; Convene stops at {max_days}"
        else:
            continue
        found.append(AtRisk(ref=r.ref, title=r.title, reason=reason))
    return tuple(found)
