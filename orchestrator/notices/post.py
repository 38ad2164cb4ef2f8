"""Notices: DMs Convene volunteers to a rep about their own work (not prospect-facing, so not
in the outbox): a sequence that failed, follow-ups that stopped, a bounce, a draft that expired.

Each goes through the same rails as the morning brief (`orchestrator.notices.gate`): the same
notice is sent once a day, and one that arrives in the rep's quiet hours or past the hourly cap
is kept (`slack_notifications.held_until`) and posted by the clock once the gate opens. A post
that fails is kept and retried the same way, so a notice is never silently lost.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import update
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session, col, select

from connectors.ports import ChatPort, Clock
from db.models import Rep, SlackNotification
from db.uow import UnitOfWork
from orchestrator.notices.gate import Gate, claim, gate, parse_clock, rep_zone

log = structlog.get_logger(__name__)

KIND = "notice"
RETRY_AFTER = timedelta(minutes=5)  # a failed post, or a full hourly cap, is tried again then
BATCH = 100


@dataclass(frozen=True)
class Notices:
    """What a notice touches: the rep's DM, the time, the hourly cap, and a transaction of its
    own for a caller that has none."""

    chat: ChatPort
    clock: Clock
    dm_per_hour_cap: int
    sessions: sessionmaker[Session]


def notice_key(rep: Rep, text: str, now: datetime) -> str:
    """One identical notice per rep per local day."""
    day = now.astimezone(rep_zone(rep)).date().isoformat()
    digest = hashlib.sha256(text.encode()).hexdigest()[:20]
    return f"{KIND}:{rep.id}:{day}:{digest}"


def release_time(rep: Rep, now: datetime) -> datetime:
    """When a held notice may try again: the end of quiet hours, else a few minutes on."""
    end = parse_clock(rep.quiet_hours_end)
    if end is None:
        return now + RETRY_AFTER
    local = now.astimezone(rep_zone(rep))
    release = local.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
    if release <= local:
        release += timedelta(days=1)
    return min(release, local + timedelta(days=1)).astimezone(now.tzinfo)


def gate_opens(rep: Rep, verdict: Gate, now: datetime) -> datetime:
    """When a closed gate is worth asking again: the end of quiet hours, or, under the hourly
    cap, a few minutes on."""
    if verdict.reason.startswith("quiet hours"):
        return release_time(rep, now)
    return now + RETRY_AFTER


def post_notice(
    notices: Notices, *, rep_id: uuid.UUID | None, text: str, session: Session | None = None
) -> str:
    """Post `text` to the rep now, or keep it for later; never raises.

    Pass the caller's `session` from inside a step so the notice's row joins its transaction
    (SQLite allows one writer at a time). Returns posted | held | duplicate | no-rep.
    """
    if rep_id is None:
        return "no-rep"
    if session is not None:
        return _tell(notices, session, rep_id, text)
    with UnitOfWork(notices.sessions) as uow:
        outcome = _tell(notices, uow.session, rep_id, text)
        uow.commit()
    return outcome


def _tell(notices: Notices, session: Session, rep_id: uuid.UUID, text: str) -> str:
    now = notices.clock.now()
    rep = session.get(Rep, rep_id)
    if rep is None:
        return "no-rep"
    key = notice_key(rep, text, now)
    verdict = gate(session, rep=rep, now=now, cap=notices.dm_per_hour_cap)
    held = None if verdict.open else release_time(rep, now)
    if not claim(session, rep=rep, kind=KIND, dedupe_key=key, channel="", now=now):
        return "duplicate"
    session.execute(
        update(SlackNotification)
        .where(col(SlackNotification.dedupe_key) == key)
        .values(text=text, held_until=held)
    )
    if held is not None:
        log.info("notice_held", rep_id=str(rep.id), reason=verdict.reason, until=held.isoformat())
        return "held"
    return _post(notices.chat, session, rep, key, text, now=now)


def _post(chat: ChatPort, session: Session, rep: Rep, key: str, text: str, *, now: datetime) -> str:
    try:
        channel = chat.open_dm(user_id=rep.slack_user_id)
        posted = chat.post_message(channel=channel, text=text)
    except Exception as exc:  # noqa: BLE001 - kept and retried by the clock, never lost
        log.warning("notice_failed", rep_id=str(rep.id), error=repr(exc))
        values: dict[str, object] = {"held_until": now + RETRY_AFTER}
        outcome = "held"
    else:
        values = {"held_until": None, "channel": posted.channel, "ts": posted.ts, "sent_at": now}
        outcome = "posted"
    session.execute(
        update(SlackNotification).where(col(SlackNotification.dedupe_key) == key).values(**values)
    )
    return outcome


def held_over(now: datetime) -> list[Any]:
    """Notices whose hold is over (the tick's probe reads the same rows)."""
    return [SlackNotification.kind == KIND, col(SlackNotification.held_until) <= now]


def deliver_held(notices: Notices) -> int:
    """Post the notices whose hold is over (the clock runs this); returns how many went out.

    Rows are taken with FOR UPDATE SKIP LOCKED, so two clocks never post the same notice."""
    now = notices.clock.now()
    posted = 0
    with UnitOfWork(notices.sessions) as uow:
        session = uow.session
        due = session.exec(
            select(SlackNotification)
            .where(*held_over(now))
            .order_by(col(SlackNotification.held_until))
            .limit(BATCH)
            .with_for_update(skip_locked=True)
        ).all()
        for row in due:
            rep = session.get(Rep, row.rep_id) if row.rep_id else None
            if rep is None or row.text is None:
                row.held_until = None
                session.add(row)
                continue
            if not gate(session, rep=rep, now=now, cap=notices.dm_per_hour_cap).open:
                row.held_until = release_time(rep, now)
                session.add(row)
                continue
            if _post(notices.chat, session, rep, row.dedupe_key, row.text, now=now) == "posted":
                posted += 1
            session.flush()  # the hourly cap counts what this loop already posted
        uow.commit()
    return posted
