"""What a listener does after its ack, on a pool of its own, kept until it has finished.

Bolt runs each listener on its listener pool and answers Slack when the listener calls `ack()`.
A listener that goes on to call Slack and the database keeps that thread until it is done, so in
a burst (a team clicking Start at once) the next requests wait for a free thread, behind that
work, before they can even ack, and Slack gives up on them after 3 s. Handing the rest of the
work here frees the listener's thread at its ack.

Once Slack has the ack the rep believes the request is under way: a web process that dies
before the work is done must not lose it. So a listener whose work starts something first
`hold`s the Slack payload (one INSERT before the ack, waited for at most HOLD_WAIT so that a
slow database never costs the ack itself), and the row is marked done when the work
has finished, whether it started the request or told the rep why not. A row left unfinished for
STALE is replayed by `replay_unfinished` (every web process runs it every REPLAY_EVERY) through
the same listener code, and the work is idempotent on Slack's own ids, so a replay of work that
did finish starts nothing twice.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import structlog
from slack_bolt import Respond
from slack_sdk import WebClient
from sqlalchemy import delete, or_, text, update
from sqlmodel import col, select

from db.models import AckedWork
from orchestrator.deps import Deps

log = structlog.get_logger(__name__)

# Fewer than the database pool's 15 connections: work queued here may hold connections while
# it waits (on a reference counter, say), and the ack path's own query (the replay check) must
# still find one free. A queue of starts is answered a little later; a late ack is an error.
THREADS = 8
# How long an ack waits for its payload to be kept, and the threads that keep them.
HOLD_WAIT = 0.5  # seconds
HOLD_THREADS = 4
# Longer than a burst keeps work queued here: younger rows may still be on their way.
STALE = timedelta(minutes=2)
# A replay that has not finished in this long died too; the next one may take the row again.
RECLAIM = timedelta(minutes=5)
# Work that took a process down this often is not tried again: the rep is told instead.
MAX_ATTEMPTS = 3
REPLAY_EVERY = 30.0  # seconds
BATCH = 20
KEEP_DONE = timedelta(days=1)
GAVE_UP = (
    ":warning: Convene could not finish something you started at {at} UTC (a Start or a "
    "`/schedule` form): nothing was created. Please run `/schedule` again."
)

# The work after the ack, rebuilt from the stored payload: (deps, body, client, respond).
Replay = Callable[[Deps, dict[str, Any], WebClient, Respond], None]


class AfterAck:
    def __init__(self, deps: Deps, *, threads: int = THREADS) -> None:
        self._deps = deps
        # Threads start on first use; at exit Python finishes the queued work before leaving.
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="after-ack")
        self._holds = ThreadPoolExecutor(max_workers=HOLD_THREADS, thread_name_prefix="ack-hold")
        self.replays: dict[str, Replay] = {}

    def hold(self, kind: str, body: dict[str, Any]) -> Future[uuid.UUID | None]:
        """Keep `body` until its work is done; call before the ack. Waits at most HOLD_WAIT:
        a database that slow must not cost the ack (Slack shows the rep an error after 3 s),
        so the row is then written moments after the ack instead of before it."""
        if kind not in self.replays:
            raise ValueError(f"no replay registered for {kind!r}")
        held = self._holds.submit(self.keep, kind, body)
        try:
            held.result(timeout=HOLD_WAIT)
        except TimeoutError:
            log.warning("acked_before_held", kind=kind)
        return held

    def keep(self, kind: str, body: dict[str, Any]) -> uuid.UUID | None:
        """Write the row; its id, or None when the database is failing (the work then most
        likely fails too, and tells the rep)."""
        try:
            with self._deps.uow() as uow:
                if uow.session.get_bind().dialect.name == "postgresql":
                    # Kept against the web process dying, which this covers at once; waiting
                    # for the disk flush too would only slow the ack.
                    uow.session.execute(text("SET LOCAL synchronous_commit TO OFF"))
                row = AckedWork(
                    org_id=str(body.get("team", {}).get("id", "")),
                    kind=kind,
                    body=body,
                    created_at=self._deps.clock.now(),
                )
                uow.session.add(row)
                uow.commit()
                return row.id
        except Exception:  # noqa: BLE001 - the ack must still go out; the work tells the rep
            log.exception("acked_work_not_held", kind=kind)
            return None

    def run(self, work: Callable[[], None], held: Future[uuid.UUID | None] | None = None) -> None:
        """Run `work` soon, on another thread. It must tell the rep of its own failures: the
        ack already said all was well."""
        self._pool.submit(_logged, work, None if held is None else lambda: self._done_once(held))

    def _done_once(self, held: Future[uuid.UUID | None]) -> None:
        if (row_id := held.result()) is not None:  # after the row is written, however late
            self._done(row_id)

    def _done(self, held: uuid.UUID) -> None:
        with self._deps.uow() as uow:
            uow.session.execute(
                update(AckedWork)
                .where(col(AckedWork.id) == held)
                .values(done_at=self._deps.clock.now())
            )
            uow.commit()

    def replay_unfinished(self) -> int:
        """Finish held work whose process died before it did; how many rows were taken."""
        now = self._deps.clock.now()
        with self._deps.sessions() as session:
            rows = session.exec(
                select(AckedWork.id, AckedWork.claimed_at)
                .where(col(AckedWork.done_at).is_(None))
                .where(col(AckedWork.created_at) < now - STALE)
                # Rows another replay took a moment ago are its own: they never fill a batch.
                .where(
                    or_(
                        col(AckedWork.claimed_at).is_(None),
                        col(AckedWork.claimed_at) <= now - RECLAIM,
                    )
                )
                .order_by(col(AckedWork.created_at))
                .limit(BATCH)
            ).all()
        taken = 0
        for row_id, claimed_at in rows:
            work = self._claim(row_id, claimed_at, now=now)
            if work is None:
                continue  # another process took it first
            taken += 1
            try:
                self._replay(work)
            except Exception:  # noqa: BLE001 - one bad row never stops the others
                log.exception("acked_work_replay_failed", kind=work.kind, id=str(work.id))
                continue
            self._done(work.id)
        return taken

    def _claim(
        self, row_id: uuid.UUID, seen: datetime | None, *, now: datetime
    ) -> AckedWork | None:
        with self._deps.uow() as uow:
            won = uow.session.execute(
                update(AckedWork)
                .where(col(AckedWork.id) == row_id)
                .where(col(AckedWork.done_at).is_(None))
                .where(
                    col(AckedWork.claimed_at).is_(None)
                    if seen is None
                    else col(AckedWork.claimed_at) == seen
                )
                .values(claimed_at=now, attempts=col(AckedWork.attempts) + 1)
            ).rowcount  # type: ignore[attr-defined]
            work = uow.session.get(AckedWork, row_id) if won == 1 else None
            uow.commit()
            if work is not None:
                uow.session.expunge(work)
            return work

    def _replay(self, work: AckedWork) -> None:
        client = self._deps.slack_client
        user = str(work.body.get("user", {}).get("id", ""))
        replay = self.replays.get(work.kind)
        if replay is None or work.attempts > MAX_ATTEMPTS:
            log.error("acked_work_given_up", kind=work.kind, id=str(work.id), user=user)
            at = work.created_at.strftime("%Y-%m-%d %H:%M")
            channel = client.conversations_open(users=[user])["channel"]["id"]
            client.chat_postMessage(channel=channel, text=GAVE_UP.format(at=at))
            return
        log.warning("acked_work_replayed", kind=work.kind, id=str(work.id), user=user)
        respond = Respond(response_url=work.body.get("response_url"))
        replay(self._deps, work.body, client, respond)

    def sweep(self) -> int:
        """Forget finished work after a day; how many rows went."""
        cutoff = self._deps.clock.now() - KEEP_DONE
        with self._deps.uow() as uow:
            gone = uow.session.execute(
                delete(AckedWork).where(col(AckedWork.done_at) < cutoff)
            ).rowcount  # type: ignore[attr-defined]
            uow.commit()
        return int(gone)

    def keep_replaying(self, *, every: float = REPLAY_EVERY) -> threading.Event:
        """Replay unfinished work every `every` seconds on a daemon thread; set the returned
        event to stop it."""
        stop = threading.Event()

        def loop() -> None:
            while True:
                try:
                    self.replay_unfinished()
                    self.sweep()
                except Exception:  # noqa: BLE001 - the database may be down; try again later
                    log.exception("acked_work_loop_failed")
                if stop.wait(every):
                    return

        threading.Thread(target=loop, name="acked-work", daemon=True).start()
        return stop


def _logged(work: Callable[[], None], then: Callable[[], None] | None) -> None:
    try:
        work()
    except Exception:  # noqa: BLE001 - a pool swallows what it runs; the log must not
        log.exception("after_ack_failed")
    if then is None:
        return
    try:
        then()
    except Exception:  # noqa: BLE001 - left unfinished: a replay finishes it (idempotently)
        log.exception("acked_work_not_marked_done")
