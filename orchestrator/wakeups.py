"""Wake-ups on the RQ queue. They carry ids only; PostgreSQL holds the state they point at.

Losing a wake-up loses no work: the clock's reconciler finds rows that should have run and
enqueues them again. A duplicate wake-up is harmless because every job leases its row first.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from rq import Queue

JOB_TIMEOUT_SECONDS = 300


class WakeUps:
    def __init__(self, queue: Queue) -> None:
        self.queue = queue

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
        if at is None:
            self.queue.enqueue_call(func, args=(arg,), job_id=rq_id, timeout=JOB_TIMEOUT_SECONDS)
        else:
            self.queue.enqueue_at(at, func, arg, job_id=rq_id, job_timeout=JOB_TIMEOUT_SECONDS)
