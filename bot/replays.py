"""The seen-request store: the signature of every signed Slack request served, so the same bytes
sent again inside Slack's 5-minute signature window are refused.

A signature covers the timestamp and the body, so only a byte-identical copy of a request has
the same one. Slack never sends one: its event retries are new requests, signed afresh (and
`event_id` idempotency absorbs them), and it never retries a click, a modal submit or a slash
command. The store is a table, not Redis: every `convene web` process shares it, and it keeps
working while Redis is down.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session, col

from db.models import SeenSlackRequest
from db.upsert import insert_or_ignore

# Past the window with room for skew between Slack's clock and ours; older rows can go.
KEEP = timedelta(minutes=10)
# One DELETE a minute per process keeps the table to about ten minutes of traffic.
SWEEP_EVERY = timedelta(minutes=1)


class SeenRequests:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions
        self._lock = threading.Lock()
        self._next_sweep: datetime | None = None

    def first_time(self, signature: str, *, now: datetime) -> bool:
        """Record `signature`; False when it was recorded before, by any process (a replay)."""
        with self.sessions() as session:
            new = insert_or_ignore(
                session, model=SeenSlackRequest, values={"signature": signature, "seen_at": now}
            )
            if self._sweep_due(now):
                session.execute(
                    delete(SeenSlackRequest).where(col(SeenSlackRequest.seen_at) < now - KEEP)
                )
            session.commit()
        return new

    def _sweep_due(self, now: datetime) -> bool:
        with self._lock:
            if self._next_sweep is not None and now < self._next_sweep:
                return False
            self._next_sweep = now + SWEEP_EVERY
            return True
