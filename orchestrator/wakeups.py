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
from datetime import datetime

import structlog
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq import Queue

log = structlog.get_logger(__name__)

JOB_TIMEOUT_SECONDS = 300
REDIS_DOWN = (RedisConnectionError, RedisTimeoutError)
# After a failed enqueue the next ones skip Redis for a while instead of each waiting out a
# connect timeout: a clock tick re-waking a few hundred rows must not stall for minutes.
QUIET_SECONDS = 5.0


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

    def post_action_card(self, action_id: uuid.UUID) -> None:
        self._enqueue(
            "orchestrator.jobs.post_action_card", str(action_id), f"card-{action_id}", None
        )

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
