"""When Convene may DM a rep unprompted: outside their quiet hours, under a per-hour cap, and
never the same notice twice (seed 002's safety rails; `slack_notifications` is the record).

A DM the rep asked for (a command's reply, a card they are clicking) does not go through here;
this is for what Convene volunteers, like the morning brief.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from connectors.ports import ChatPort, PostedMessage
from db.models import Rep, SlackNotification
from db.upsert import insert_or_ignore

CAP_WINDOW = timedelta(hours=1)


@dataclass(frozen=True)
class Gate:
    open: bool
    reason: str = ""  # why a DM has to wait, for logs and job outputs


def brief_key(rep_id: uuid.UUID, day: str) -> str:
    """The morning brief's dedupe key: one per rep per local date."""
    return f"brief:{rep_id}:{day}"


def rep_zone(rep: Rep) -> ZoneInfo:
    """The rep's zone; a zone the database no longer knows falls back to UTC, not a crash."""
    try:
        return ZoneInfo(rep.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def parse_clock(text: str | None) -> time | None:
    """ "HH:MM" from the settings modal, or None when unset or unreadable."""
    if not text:
        return None
    try:
        return time.fromisoformat(text)
    except ValueError:
        return None


def in_quiet_hours(*, local: time, start: time | None, end: time | None) -> bool:
    """Quiet hours may wrap midnight (22:00–07:00); equal or missing bounds mean none."""
    if start is None or end is None or start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end


def sent_in_last_hour(session: Session, *, rep_id: uuid.UUID, now: datetime) -> int:
    return sent_in_last_hour_by_rep(session, rep_ids=[rep_id], now=now).get(rep_id, 0)


def sent_in_last_hour_by_rep(
    session: Session, *, rep_ids: Iterable[uuid.UUID], now: datetime
) -> dict[uuid.UUID, int]:
    """The hourly cap's count for many reps at once (one grouped read); a rep with none is
    absent."""
    ids = list(set(rep_ids))
    if not ids:
        return {}
    rows = session.exec(
        select(SlackNotification.rep_id, func.count())
        .where(col(SlackNotification.rep_id).in_(ids))
        .where(col(SlackNotification.sent_at) > now - CAP_WINDOW)
        # A held notice has not been posted yet, so it does not count against the cap.
        .where(col(SlackNotification.held_until).is_(None))
        .group_by(col(SlackNotification.rep_id))
    ).all()
    return {rep_id: int(count) for rep_id, count in rows if rep_id is not None}


def gate(session: Session, *, rep: Rep, now: datetime, cap: int | None) -> Gate:
    """Whether a volunteered DM may go now. `cap=None` for the work itself (a reply, a draft):
    it waits out quiet hours but is never throttled, since a held "yes" can lose the deal."""
    return gates(session, reps=[rep], now=now, cap=cap)[rep.id]


def gates(
    session: Session, *, reps: Iterable[Rep], now: datetime, cap: int | None
) -> dict[uuid.UUID, Gate]:
    """`gate` for every rep in a batch, reading the hourly counts once (the clock's tick)."""
    reps = list(reps)
    quiet = {rep.id: _quiet(rep, now) for rep in reps}
    counted = [rep.id for rep in reps if quiet[rep.id] is None]
    sent = sent_in_last_hour_by_rep(session, rep_ids=counted, now=now) if cap is not None else {}
    verdicts = {}
    for rep in reps:
        if (why := quiet[rep.id]) is not None:
            verdicts[rep.id] = Gate(False, why)
        elif cap is not None and sent.get(rep.id, 0) >= cap:
            verdicts[rep.id] = Gate(False, f"{cap} DMs in the last hour already")
        else:
            verdicts[rep.id] = Gate(True)
    return verdicts


def _quiet(rep: Rep, now: datetime) -> str | None:
    local = now.astimezone(rep_zone(rep)).time()
    start, end = parse_clock(rep.quiet_hours_start), parse_clock(rep.quiet_hours_end)
    if in_quiet_hours(local=local, start=start, end=end):
        return f"quiet hours until {rep.quiet_hours_end}"
    return None


def claim(
    session: Session, *, rep: Rep, kind: str, dedupe_key: str, channel: str, now: datetime
) -> bool:
    """Record the notice before posting it; False when this `dedupe_key` was already claimed
    (a concurrent worker's claim included)."""
    return insert_or_ignore(
        session,
        model=SlackNotification,
        values={
            "id": uuid.uuid4(),
            "org_id": rep.org_id,
            "rep_id": rep.id,
            "kind": kind,
            "dedupe_key": dedupe_key,
            "channel": channel,
            "sent_at": now,
        },
    )


def record_ts(session: Session, *, dedupe_key: str, ts: str) -> None:
    """Keep the posted message's ts, so a later change can update it in place."""
    session.execute(
        update(SlackNotification)
        .where(col(SlackNotification.dedupe_key) == dedupe_key)
        .values(ts=ts)
    )


def post_once(
    session: Session,
    chat: ChatPort,
    *,
    rep: Rep,
    kind: str,
    dedupe_key: str,
    channel: str,
    now: datetime,
    text: str,
    blocks: Sequence[Mapping[str, Any]] = (),
) -> PostedMessage | None:
    """Claim `dedupe_key`, post, and keep the message's ts, in the caller's transaction: None
    when it was already claimed. The row goes in first, so a concurrent run finds it and stays
    quiet; a failed post raises, and the caller's rollback removes the row for a retry."""
    if not claim(session, rep=rep, kind=kind, dedupe_key=dedupe_key, channel=channel, now=now):
        return None
    posted = chat.post_message(channel=channel, text=text, blocks=blocks)
    record_ts(session, dedupe_key=dedupe_key, ts=posted.ts)
    return posted


def already_sent(session: Session, *, dedupe_keys: list[str]) -> set[str]:
    if not dedupe_keys:
        return set()
    found = session.exec(
        select(SlackNotification.dedupe_key).where(
            col(SlackNotification.dedupe_key).in_(dedupe_keys)
        )
    ).all()
    return set(found)
