"""The morning brief's content (seed 002's mock, cut to scheduling): today's meetings, what needs
the rep, and how their requests are doing. Plain data in, plain data out; rendering is Slack's
business (bot/brief_blocks.py) and reading the database the orchestrator's.

Precision over recall: a rep with nothing booked today, nothing to decide and nothing at risk
gets no brief at all, so a brief that does arrive is worth reading.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

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

AttentionKind = Literal["approval", "failed_send", "paused", "no_show"]


@dataclass(frozen=True, kw_only=True)
class RequestInfo:
    ref: str
    title: str
    status: str
    attempt_count: int
    created_at: datetime
    meeting_start: datetime | None = None
    meeting_end: datetime | None = None
    prospect: str = ""  # who the meeting is with, as the rep knows them
    paused_reason: str = ""


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
    ref: str
    title: str
    start: datetime
    end: datetime | None
    prospect: str


@dataclass(frozen=True, kw_only=True)
class AttentionItem:
    kind: AttentionKind
    ref: str
    text: str
    action_id: str | None = None  # the pending action its buttons decide


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


def compose_brief(
    *,
    rep_name: str,
    timezone: str,
    now: datetime,
    requests: Sequence[RequestInfo],
    actions: Sequence[ActionInfo],
    max_attempts: int = 5,
    max_days: int = 21,
) -> Brief | None:
    """The brief for the rep's local day containing ``now``, or None with nothing to say."""
    zone = ZoneInfo(timezone)
    today = now.astimezone(zone).date()
    meetings = _todays_meetings(requests, zone=zone, today=today)
    attention = _attention(requests, actions)
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
    )


def _todays_meetings(
    requests: Sequence[RequestInfo], *, zone: ZoneInfo, today: date
) -> tuple[MeetingLine, ...]:
    lines = [
        MeetingLine(
            ref=r.ref, title=r.title, start=r.meeting_start, end=r.meeting_end, prospect=r.prospect
        )
        for r in requests
        if r.status in BOOKED
        and r.meeting_start is not None
        and r.meeting_start.astimezone(zone).date() == today
    ]
    return tuple(sorted(lines, key=lambda m: m.start))


def _attention(
    requests: Sequence[RequestInfo], actions: Sequence[ActionInfo]
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
    return tuple(items)


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
        if r.attempt_count >= max_attempts - AT_RISK_ATTEMPTS_LEFT:
            reason = f"{r.attempt_count} of {max_attempts} emails sent without a booking"
        elif age >= timedelta(days=max_days - AT_RISK_DAYS_LEFT):
            reason = f"open {age.days} days; Convene stops at {max_days}"
        else:
            continue
        found.append(AtRisk(ref=r.ref, title=r.title, reason=reason))
    return tuple(found)
