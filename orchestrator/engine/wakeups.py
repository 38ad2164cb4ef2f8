"""Wake-ups on the RQ queue. They carry ids only; PostgreSQL holds the state they point at.

Losing a wake-up loses no work: the clock's reconciler finds rows that should have run and
enqueues them again. A duplicate wake-up is harmless because every job leases its row first.
So a wake-up that cannot be queued (Redis down) is logged and left to the reconciler: the
transaction it follows is committed, and failing the caller would only turn an outage of the
queue into a crash of the web, worker or clock.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq import Queue
from rq.job import Job, JobStatus
from rq.utils import now as rq_now

log = structlog.get_logger(__name__)

JOB_TIMEOUT_SECONDS = 300
REDIS_DOWN = (RedisConnectionError, RedisTimeoutError)
# After a failed enqueue the next ones skip Redis for a while instead of each waiting out a
# connect timeout: a clock tick re-waking a few hundred rows must not stall for minutes.
QUIET_SECONDS = 5.0
# RQ states of a wake-up that has not started yet (a started one may have died with its worker).
WAITING = frozenset({JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED})
# A mailbox read that is running counts as waiting too: a second read of the same mailbox
# would only race the first for the same messages. But a read whose worker was killed stays
# "started" in RQ until its 5-minute timeout, and the mailbox would go unread all that time: a
# read started longer ago than this (several mail timeouts) is taken for dead and queued anew.
READ_PRESUMED_DEAD = timedelta(minutes=2)
# Reading which rows a queue this long still holds costs more than the duplicates it saves.
WAITING_READ_LIMIT = 100_000


@dataclass(frozen=True)
class Waiting:
    """The jobs and actions that have a wake-up waiting in the queue for a worker."""

    steps: frozenset[uuid.UUID]
    actions: frozenset[uuid.UUID]


class WakeUps:
    def __init__(self, queue: Queue) -> None:
        self.queue = queue
        self._down_until = 0.0

    def run_step(self, job_id: uuid.UUID, *, tag: str, at: datetime | None = None) -> None:
        self._enqueue("orchestrator.jobs.run_step", str(job_id), f"step-{job_id}-{tag}", at)

    def execute_action(self, action_id: uuid.UUID, *, tag: str, at: datetime | None = None) -> None:
        self._enqueue(
            "orchestrator.jobs.execute_action", str(action_id), f"exec-{action_id}-{tag}", at
        )

    def rewake_step(self, job_id: uuid.UUID, *, version: str) -> bool:
        """The reconciler's wake-up for a job whose row is in state `version`: at most one
        waits in the queue, however many ticks find the row in that state. A row that changed
        (leased again, and lost again) gets a new one. False when one is still waiting."""
        return self._enqueue_once(
            "orchestrator.jobs.run_step", str(job_id), f"step-{job_id}-late-{version}"
        )

    def rewake_action(self, action_id: uuid.UUID, *, version: str) -> bool:
        """The reconciler's wake-up for an approved or abandoned send (see `rewake_step`)."""
        return self._enqueue_once(
            "orchestrator.jobs.execute_action", str(action_id), f"exec-{action_id}-late-{version}"
        )

    def deliver_webhook(self, seq: int, *, version: str) -> bool:
        """A worker's wake-up for webhook delivery `seq` at attempt `version`: one waits in
        the queue per row and attempt, however many ticks find it due. False when one waits."""
        return self._enqueue_once(
            "orchestrator.jobs.deliver_webhook", str(seq), f"hook-{seq}-{version}"
        )

    def waiting(self) -> Waiting | None:
        """Which jobs and actions have a wake-up in the queue, not yet taken by a worker: the
        reconciler leaves those alone, since a row is late as often because the workers are
        behind as because its wake-up was lost. None when the queue cannot be read (Redis
        down, or a backlog too long to read every tick)."""
        if time.monotonic() < self._down_until:
            return None
        try:
            if self.queue.count > WAITING_READ_LIMIT:
                return None
            rq_ids = self.queue.get_job_ids()
        except REDIS_DOWN as exc:
            self._down_until = time.monotonic() + QUIET_SECONDS
            log.warning("wakeups_unreadable", error=repr(exc))
            return None
        return Waiting(steps=_subjects(rq_ids, "step-"), actions=_subjects(rq_ids, "exec-"))

    def post_action_card(self, action_id: uuid.UUID) -> None:
        self._enqueue(
            "orchestrator.jobs.post_action_card", str(action_id), f"card-{action_id}", None
        )

    def poll_mailboxes(self, rep_ids: list[uuid.UUID]) -> int:
        """Queue one read of each rep's mailbox, skipping those whose last read is still waiting
        or running (a slow provider must not pile reads up). Two Redis round trips in all."""
        if not rep_ids or time.monotonic() < self._down_until:
            return 0
        ids = {f"mail-{rep_id}": rep_id for rep_id in rep_ids}
        try:
            queued = Job.fetch_many(
                list(ids), connection=self.queue.connection, serializer=self.queue.serializer
            )
            now = rq_now()
            busy = {job.id for job in queued if job and _still_reading(job, now=now)}
            todo = [
                Queue.prepare_data(
                    "orchestrator.jobs.poll_mailbox",
                    args=(str(rep_id),),
                    job_id=rq_id,
                    timeout=JOB_TIMEOUT_SECONDS,
                )
                for rq_id, rep_id in ids.items()
                if rq_id not in busy
            ]
            with self.queue.connection.pipeline() as pipe:
                self.queue.enqueue_many(todo, pipeline=pipe)
                pipe.execute()
        except REDIS_DOWN as exc:
            # Nothing is lost: the next tick queues the reads again.
            self._down_until = time.monotonic() + QUIET_SECONDS
            log.warning("mail_polls_deferred", error=repr(exc))
            return 0
        return len(todo)

    def renew_watch(self, rep_id: uuid.UUID) -> bool:
        """Queue the making or renewal of a mailbox's push watch (once while one waits)."""
        return self._enqueue_once(
            "orchestrator.jobs.renew_mail_watch", str(rep_id), f"watch-{rep_id}"
        )

    def _enqueue_once(self, func: str, arg: str, rq_id: str) -> bool:
        # Adding a new wake-up every tick while the last one still waits grows the backlog
        # faster than workers drain it; one waiting wake-up per row is enough, since every job
        # leases first. (Two clocks may both add it: a duplicate, run once, harmless.)
        if time.monotonic() >= self._down_until:
            try:
                waiting = self.queue.fetch_job(rq_id)
                if waiting is not None and waiting.get_status(refresh=False) in WAITING:
                    return False
            except REDIS_DOWN as exc:
                self._down_until = time.monotonic() + QUIET_SECONDS
                log.warning("wakeup_deferred_to_reconciler", job=rq_id, error=repr(exc))
                return False
        self._enqueue(func, arg, rq_id, None)
        return True

    def _enqueue(self, func: str, arg: str, rq_id: str, at: datetime | None) -> None:
        if time.monotonic() < self._down_until:
            # The failure that opened this window was logged; one line per row would flood.
            log.debug("wakeup_deferred_to_reconciler", job=rq_id)
            return
        try:
            if at is None:
                self.queue.enqueue_call(
                    func, args=(arg,), job_id=rq_id, timeout=JOB_TIMEOUT_SECONDS
                )
            else:
                self.queue.enqueue_at(at, func, arg, job_id=rq_id, job_timeout=JOB_TIMEOUT_SECONDS)
        except REDIS_DOWN as exc:
            self._down_until = time.monotonic() + QUIET_SECONDS
            log.warning("wakeup_deferred_to_reconciler", job=rq_id, error=repr(exc))


def _still_reading(job: Job, *, now: datetime) -> bool:
    """Waiting for a worker, or running on one that has not been gone too long (RQ's clock)."""
    status = job.get_status(refresh=False)
    if status in WAITING:
        return True
    started = job.last_heartbeat or job.started_at
    return (
        status == JobStatus.STARTED and started is not None and now - started < READ_PRESUMED_DEAD
    )


def _subjects(rq_ids: list[str], prefix: str) -> frozenset[uuid.UUID]:
    """The row ids in wake-up ids `{prefix}{uuid}-{tag}` (the ids `WakeUps` builds)."""
    width = len(prefix) + 36
    found = set()
    for rq_id in rq_ids:
        if rq_id.startswith(prefix) and len(rq_id) > width:
            try:
                found.add(uuid.UUID(rq_id[len(prefix) : width]))
            except ValueError:
                continue
    return frozenset(found)
