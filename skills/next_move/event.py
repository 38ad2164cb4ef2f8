"""The next move for the whole event: keep coordinating, ask the rep, or call it done.

Reads only the required attendees' outputs (:class:`AttendeeDecision`), momentum and time
left. It is conservative: unless the attendee outputs clearly say otherwise the event stays in
``collecting_responses``. :func:`row` builds the decision for one row of seed 003's table;
:func:`find_blocker` finds the row that needs the rep, most severe first.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from skills.next_move.model import (
    ALTERNATIVES_SCORE_LIMIT,
    CONFIRMED_SCORE,
    EVENT_TYPE,
    Alternative,
    AttendeeDecision,
    EventDecision,
    EventProgress,
    EventSubtype,
    Policy,
    clamp,
    list_slots,
    one_future_slot,
    one_line,
)


def _reasons(required: Sequence[AttendeeDecision]) -> tuple[str, ...]:
    return tuple(f"{a.label}: {a.reason}" for a in required)


def _weighted_score(required: Sequence[AttendeeDecision]) -> float:
    # Prospects are the point of the meeting; internal attendees flex more easily.
    if not required:
        return 50.0
    weights = [2.0 if a.external else 1.0 for a in required]
    return sum(w * a.score for w, a in zip(weights, required, strict=True)) / sum(weights)


def _momentum(
    required: Sequence[AttendeeDecision], progress: EventProgress, now: datetime, policy: Policy
) -> int:
    replies = [a.last_reply_at for a in required if a.last_reply_at is not None]
    latest = max(replies, default=None)
    if latest is not None and now - latest <= timedelta(hours=policy.momentum_hours):
        return 5
    quiet_since = latest or progress.created_at
    return -5 if now - quiet_since >= timedelta(days=policy.stale_days) else 0


def _time_pressure(progress: EventProgress, now: datetime, policy: Policy) -> int:
    penalty = 0
    age = now - progress.created_at
    if age >= timedelta(days=policy.max_days_active * 2 / 3):
        penalty -= 10
    elif age >= timedelta(days=policy.max_days_active / 3):
        penalty -= 5
    if progress.window_end is not None and progress.window_end - now < timedelta(days=2):
        penalty -= 10
    if progress.attempts >= policy.max_attempts - 1:
        penalty -= 5
    return penalty


# Score bands per row: the seed gives most of them; the rest keep "confirmed" scores (95+)
# for all_confirmed and scheduled only.
_BANDS: dict[EventSubtype, tuple[int, int]] = {
    "reaching_out": (50, 60),
    "collecting_responses": (5, 94),
    "getting_alternatives": (5, 40),
    "all_confirmed": (95, 100),
    "get_alternatives": (5, 19),
    "reschedule": (5, 94),
    "resolve_conflict": (20, 40),
    "recommend_cancel": (0, 5),
    "unusual": (5, 94),
    "scheduled": (100, 100),
    "cancelled": (0, 0),
}


def _score(
    subtype: EventSubtype,
    required: Sequence[AttendeeDecision],
    progress: EventProgress,
    now: datetime,
    policy: Policy,
) -> int:
    if subtype == "recommend_cancel":
        # "Near 0": an attendee closing is final; a stop rule leaves a sliver for an override.
        return 0 if any(a.next_action.startswith("close:") for a in required) else 5
    raw = _weighted_score(required) + _momentum(required, progress, now, policy)
    raw += _time_pressure(progress, now, policy)
    low, high = _BANDS[subtype]
    return clamp(raw, low, high)


def row(
    subtype: EventSubtype,
    required: Sequence[AttendeeDecision],
    progress: EventProgress,
    now: datetime,
    policy: Policy,
    *,
    attendees: Iterable[AttendeeDecision] = (),
    slot: datetime | None = None,
    alternatives: tuple[Alternative, ...] = (),
    summary: str = "",
) -> EventDecision:
    kind = EVENT_TYPE[subtype]
    return EventDecision(
        next_action=kind,
        subtype=subtype,
        score=_score(subtype, required, progress, now, policy),
        needs_rep=kind == "waiting_for_decision",
        reasons=_reasons(required),
        attendees=tuple(a.label for a in attendees),
        slot=slot,
        alternatives=alternatives,
        summary=one_line(summary) if summary else "",
    )


def _acceptable(attendee: AttendeeDecision) -> frozenset[datetime] | None:
    """The slots this attendee has said work for them; None means any slot does."""
    if attendee.any_slot:
        return None
    slots = set(attendee.proposed)
    if attendee.slot is not None:
        slots.add(attendee.slot)
    return frozenset(slots)


def _conflict(required: Sequence[AttendeeDecision]) -> tuple[AttendeeDecision, ...]:
    """Attendees whose stated constraints leave no common slot, once we have persisted.

    Only attendees who rejected our times *and* named their own count: an acceptance of one
    offered slot says nothing about the others, so it is not a constraint.
    """
    stated = [
        a
        for a in required
        if a.proposed and a.next_action in ("reply", "escalate:alternatives_proposed")
    ]
    if len(stated) < 2 or not any(a.persisted for a in stated):
        return ()
    common = frozenset.intersection(*(frozenset(a.proposed) for a in stated))
    return () if common else tuple(stated)


def _answered(attendee: AttendeeDecision, since: datetime | None) -> bool:
    """Whether the attendee has replied since ``since`` (internal calendars always have)."""
    last = attendee.last_reply_at
    return attendee.any_slot or (last is not None and (since is None or last >= since))


def _options(required: Sequence[AttendeeDecision]) -> tuple[Alternative, ...]:
    """Every slot someone said works for them, with who can make it."""
    sets = {a.label: _acceptable(a) for a in required}
    options = sorted({s for slots in sets.values() if slots for s in slots})
    result = []
    for option in options:
        fits = tuple(label for label, slots in sets.items() if slots is None or option in slots)
        result.append(Alternative(option, fits, len(fits) == len(sets)))
    return tuple(result)


def _alternatives(
    required: Sequence[AttendeeDecision], since: datetime | None
) -> tuple[Alternative, ...] | None:
    """Options gathered since the rep approved looking for them, or None while still gathering."""
    if not required or not all(_answered(a, since) for a in required):
        return None
    return _options(required) or None


def _no_common_slot(
    conflicting: Sequence[AttendeeDecision],
    required: Sequence[AttendeeDecision],
    progress: EventProgress,
    now: datetime,
    policy: Policy,
) -> EventDecision:
    """``resolve_conflict``: who insists on which times, and every option anyone named."""
    summary = "; ".join(f"{a.label} only {list_slots(a.proposed)}" for a in conflicting)
    return row(
        "resolve_conflict",
        required,
        progress,
        now,
        policy,
        attendees=conflicting,
        alternatives=_options(required),
        summary=f"no common slot: {summary}",
    )


def stop_reason(progress: EventProgress, now: datetime, policy: Policy) -> str | None:
    if now - progress.created_at >= timedelta(days=policy.max_days_active):
        return f"still unscheduled after {policy.max_days_active} days"
    if progress.window_end is not None and now >= progress.window_end:
        return "the scheduling window has ended"
    if progress.attempts >= policy.max_attempts:
        return f"reached the maximum of {policy.max_attempts} attempts"
    return None


def find_blocker(
    required: Sequence[AttendeeDecision], progress: EventProgress, now: datetime, policy: Policy
) -> EventDecision | None:
    """A reason to ask the rep, most severe first; None keeps coordination going."""
    closed = [a for a in required if a.next_action.startswith("close:")]
    if closed:
        summary = "; ".join(f"{a.label} {a.reason}" for a in closed)
        return row(
            "recommend_cancel", required, progress, now, policy, attendees=closed, summary=summary
        )
    unusual = [a for a in required if a.next_action == "escalate:unusual"]
    if unusual:
        summary = "; ".join(f"{a.label}: {a.reason}" for a in unusual)
        return row("unusual", required, progress, now, policy, attendees=unusual, summary=summary)
    if progress.current in ("getting_alternatives", "reschedule"):
        return _gathering(required, progress, now, policy)
    conflicting = _conflict(required)
    if conflicting:
        return _no_common_slot(conflicting, required, progress, now, policy)
    rejecting = [
        a
        for a in required
        if a.next_action == "escalate:alternatives_proposed"
        and a.score < ALTERNATIVES_SCORE_LIMIT
        and a.persisted
    ]
    if rejecting:
        summary = "; ".join(f"{a.label} ({a.score}): {a.reason}" for a in rejecting)
        return row(
            "get_alternatives",
            required,
            progress,
            now,
            policy,
            attendees=rejecting,
            summary=summary,
        )
    return None


def _gathering(
    required: Sequence[AttendeeDecision], progress: EventProgress, now: datetime, policy: Policy
) -> EventDecision:
    """The rep approved looking for other times: stay until every required attendee answered."""
    options = _alternatives(required, progress.state_since)
    pending = [a for a in required if not _answered(a, progress.state_since)]
    if options is None:
        return row("getting_alternatives", required, progress, now, policy, attendees=pending)
    conflicting = _conflict(required)
    if conflicting and not any(o.fits_all for o in options):
        return _no_common_slot(conflicting, required, progress, now, policy)
    return row(
        "reschedule",
        required,
        progress,
        now,
        policy,
        alternatives=options,
        summary=f"{len(options)} option{'s' if len(options) != 1 else ''} gathered",
    )


def all_confirmed(required: Sequence[AttendeeDecision], now: datetime) -> datetime | None:
    """The slot when every required attendee is finalized at 95+ on it (delegators aside)."""
    deciding = [a for a in required if a.delegated_to is None]
    if not deciding or not all(
        a.next_action == "confirm:finalized" and a.score >= CONFIRMED_SCORE for a in deciding
    ):
        return None
    return one_future_slot({a.slot for a in deciding if not a.any_slot}, now)
