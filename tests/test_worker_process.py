"""`convene worker` keeps one long-lived worker process: it runs job after job without forking,
outlives a job that fails, is replaced by a fresh one after WORKER_MAX_JOBS jobs or when it is
killed, and a step killed with it is resumed by the reconciler and done exactly once."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import uuid
from datetime import timedelta
from pathlib import Path

from redis import Redis
from rq import Queue, Worker
from rq.job import Job
from rq.job import JobStatus as RqStatus
from rq.serializers import JSONSerializer
from sqlmodel import col

from db.models import JobStatus, PendingAction, SequenceJob
from orchestrator.engine.crashpoints import EXIT_STATUS
from orchestrator.timers.reconciler import reconcile
from tests.support.services import REDIS_URL, redis_db_number
from tests.support.stack import Stack, wait_for

ROOT = Path(__file__).resolve().parents[1]
PROSPECT = "john@acme.example"


def _spawn(argv: list[str], env: dict[str, str]) -> tuple[subprocess.Popen[str], list[str]]:
    process = subprocess.Popen(
        [sys.executable, "-m", *argv],
        cwd=ROOT,
        env={**os.environ, **env},
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    lines: list[str] = []

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)

    threading.Thread(target=read, daemon=True).start()
    return process, lines


def _stop(process: subprocess.Popen[str]) -> int:
    if process.poll() is None:
        process.terminate()
    try:
        return process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait(timeout=5)


def _end_session(process: subprocess.Popen[str]) -> None:
    """What a dead worker left in its session (RQ's scheduler, which it forked) would keep
    polling this test's Redis database after the test; `convene worker` reaps it itself."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def _redis_url() -> str:
    return f"{REDIS_URL.rstrip('/')}/{redis_db_number()}"


def _children(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _all_ended(jobs: list[Job]) -> bool:
    return all(job.get_status() in (RqStatus.FINISHED, RqStatus.FAILED) for job in jobs)


def test_one_worker_process_runs_job_after_job_and_is_replaced_when_it_ends(
    pg_url: str, real_redis: Redis
) -> None:
    name = f"long-lived-{uuid.uuid4().hex[:8]}"
    queue = Queue(name, connection=real_redis, serializer=JSONSerializer)
    # 16 jobs in order, the sixth one failing; the worker process is replaced every 7.
    jobs = [
        queue.enqueue_call(f"tests.support.worker_jobs.{'fail' if n == 5 else 'pid'}")
        for n in range(16)
    ]
    failing = jobs[5]
    env = {
        "DATABASE_URL": pg_url,
        "REDIS_URL": _redis_url(),
        "QUEUE_NAME": name,
        "WORKER_MAX_JOBS": "7",
    }
    worker, output = _spawn(["orchestrator", "worker"], env)
    try:
        wait_for(lambda: _all_ended(jobs), "the worker to run every job", timeout=90)
        assert failing.get_status() == RqStatus.FAILED
        result = failing.latest_result()
        assert result is not None and "this job fails on purpose" in (result.exc_string or "")
        pids = [None if job is failing else job.return_value() for job in jobs]
        first, second, third = pids[0], pids[7], pids[14]
        # No fork per job: one process ran seven in a row, the one after the failure too.
        assert pids == [first] * 5 + [None, first] + [second] * 7 + [third] * 2, pids
        assert len({first, second, third, worker.pid}) == 4, "a fresh process after each 7"
        assert sum("worker_recycled" in line for line in output) == 2, "".join(output)

        # Killed mid-life (kill -9, OOM), the worker process is replaced at once.
        (running,) = _children(worker.pid)
        os.kill(running, signal.SIGKILL)
        # Enqueued once the new one listens: a wake-up pushed while Redis still served the
        # dead one's blocking pop is lost with it (the reconciler's business, not this test's).
        wait_for(
            lambda: [w for w in Worker.all(queue=queue) if w.pid not in (running, worker.pid)],
            "a new worker process to listen",
            timeout=60,
        )
        more = [queue.enqueue_call("tests.support.worker_jobs.pid") for _ in range(3)]
        wait_for(lambda: _all_ended(more), "a new worker process to run the next jobs", timeout=60)
        (replacement,) = {job.return_value() for job in more}
        assert replacement not in {running, worker.pid}
        assert worker.poll() is None, "".join(output)
        assert any("worker_process_died" in line for line in output), "".join(output)
    finally:
        assert _stop(worker) == 0, "".join(output)


def _start_worker(stack: Stack, **env: str) -> subprocess.Popen[str]:
    process, _ = _spawn(
        [
            "tests.support.hanging_worker",
            stack.deps.settings.database_url,
            _redis_url(),
            stack.clock.now().isoformat(),
            "none",
        ],
        env,
    )
    return process


def test_a_worker_killed_mid_step_is_resumed_by_the_reconciler_and_done_once(
    pg_stack: Stack,
) -> None:
    stack = pg_stack
    stack.schedule(f"demo with {PROSPECT}")  # its wake-up waits in Redis
    # The process dies the way kill -9 ends it, with the step's work done and nothing committed.
    worker = _start_worker(stack, CONVENE_CRASH_AT="runner.step_ran")
    try:
        assert worker.wait(timeout=60) == EXIT_STATUS
    finally:
        _end_session(worker)
    (job,) = stack.rows(SequenceJob)
    assert job.status == JobStatus.running
    assert job.steps_completed == []

    stack.clock.advance(timedelta(seconds=stack.deps.settings.step_lease_seconds + 1))
    assert reconcile(stack.deps).jobs == 1
    assert reconcile(stack.deps).jobs == 0, "its wake-up waits: nothing more is added"
    assert stack.deps.queue.count == 1

    stack.drain()  # another worker takes it over
    (job,) = stack.rows(SequenceJob)
    assert job.status == JobStatus.waiting_approval
    assert job.steps_completed == ["find_slots", "draft_initial_email"]
    assert len(stack.rows(PendingAction, col(PendingAction.job_id) == job.id)) == 1
    assert len(stack.cards()) == 1
