"""The loops of `convene worker` and `convene clock`: an outage of Redis (or of the database)
is logged and waited out with growing pauses, never a reason to exit.

Nothing is lost meanwhile: PostgreSQL holds every job and action, a wake-up that could not be
queued is left to the reconciler (see `wakeups`), and the clock keeps doing its database work.

The worker runs job after job in one long-lived process: no fork per job. A fork per job cost
~150 ms (and new database and Redis connections each time); kept, the process runs a cheap
step in a few milliseconds. What the fork gave is kept without it: a job that raises is
recorded by RQ and the loop takes the next one; a job that hangs is interrupted by RQ's
SIGALRM death penalty after the job timeout (its fenced write is refused if another worker
took it over meanwhile); a job killed with its process is resumed by the reconciler from its
row, as it always was, and `supervise` forks a new worker process at once; and every
WORKER_MAX_JOBS jobs the worker process is replaced by a fresh fork, so no slow leak in a
library can grow it without bound.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from types import FrameType
from typing import NoReturn

import structlog
from redis.client import Pipeline
from rq import Queue, SimpleWorker, utils
from rq.job import Job
from rq.serializers import JSONSerializer

from orchestrator.deps import Deps
from orchestrator.timers.tick import tick

log = structlog.get_logger(__name__)

# A worker that ran this long before it lost Redis was healthy: the next outage starts over.
HEALTHY_RUN_SECONDS = 60.0
HEARTBEAT_EVERY = timedelta(seconds=1)


class Backoff:
    """Pauses that double with each failure in a row, up to `cap`; `reset()` after a success."""

    def __init__(self, *, first: float, cap: float) -> None:
        self.first, self.cap = first, cap
        self.failures = 0

    def failed(self) -> float:
        pause = min(self.first * 2**self.failures, self.cap)
        self.failures += 1
        return pause

    def reset(self) -> None:
        self.failures = 0


def run_clock(deps: Deps, *, once: bool, echo: Callable[[str], None]) -> bool:
    """Tick every CLOCK_INTERVAL_SECONDS until the process is stopped. With `once`, one tick;
    False when it failed."""
    interval = deps.settings.clock_interval_seconds
    backoff = Backoff(first=interval, cap=max(interval, 60.0))
    while True:
        try:
            report = tick(deps)
            if once or not report.idle:
                echo(report.line())
            else:
                # ~2,900 idle ticks a day: visible at DEBUG, not in every INFO log.
                log.debug("clock_tick_idle", counts=report.line())
        except Exception as exc:  # noqa: BLE001 - an outage is waited out, not a crash
            log.exception("clock_tick_failed", error=repr(exc))
            if once:
                return False
            time.sleep(backoff.failed())
            continue
        if once:
            return True
        backoff.reset()
        time.sleep(interval)


class InProcessWorker(SimpleWorker):
    """RQ's worker that runs each job in this process (see the module's docstring), counting
    them and remembering a stop request: its loop also quits when Redis goes away or after
    `max_jobs`, and only a stop request should end the process."""

    stop_requested = False
    jobs_run = 0

    def request_stop(self, signum: int, frame: FrameType | None) -> None:
        self.stop_requested = True
        super().request_stop(signum, frame)

    def execute_job(self, job: Job, queue: Queue) -> None:
        try:
            super().execute_job(job, queue)
        finally:
            self.jobs_run += 1

    def heartbeat(self, timeout: int | None = None, pipeline: Pipeline | None = None) -> None:
        # RQ beats before and after every dequeue and every job, three round trips to Redis
        # each: half of a cheap job's Redis traffic. The worker's key lives for minutes, so a
        # plain beat within a second of the last says nothing new. A beat that sets a job's
        # longer timeout, or rides in a pipeline, always goes out.
        plain = timeout is None and pipeline is None and self.last_heartbeat is not None
        if plain and utils.now() - self.last_heartbeat < HEARTBEAT_EVERY:  # type: ignore[operator]
            return
        super().heartbeat(timeout, pipeline)


def _redis_up(deps: Deps) -> bool:
    try:
        return bool(deps.redis.ping())
    except Exception:  # noqa: BLE001 - any failure means "not now"
        return False


def _pause(seconds: float) -> bool:
    """Wait `seconds` between workers; True if asked to stop meanwhile.

    The last worker's signal handlers would talk to Redis; ours only note the request, and
    the defaults come back for the next worker's start, as on the first."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        return stop.wait(seconds)
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)


def run_worker(deps: Deps, *, burst: bool, max_jobs: int | None) -> bool:
    """Run queued wake-ups until asked to stop (with `burst`, until the queue is empty).

    True when it stopped after `max_jobs` jobs (`supervise` then forks a fresh process)."""
    backoff = Backoff(first=1.0, cap=30.0)
    jobs_left = max_jobs
    while True:
        started = time.monotonic()
        worker: InProcessWorker | None = None
        try:
            worker = InProcessWorker([deps.queue], connection=deps.redis, serializer=JSONSerializer)
            worker.work(burst=burst, with_scheduler=True, max_jobs=jobs_left)
        except Exception as exc:  # noqa: BLE001 - RQ's start and teardown talk to Redis too
            log.warning("worker_interrupted", error=repr(exc))
        if worker is not None and worker.stop_requested:
            return False
        if worker is not None and jobs_left is not None:
            jobs_left -= worker.jobs_run
            if jobs_left <= 0:
                return True
        up = _redis_up(deps)
        if burst and up:
            return False
        if time.monotonic() - started >= HEALTHY_RUN_SECONDS:
            backoff.reset()
        pause = backoff.failed()
        log.warning("worker_restarting", redis="up" if up else "down", in_seconds=pause)
        if _pause(pause):
            return False


def supervise(deps: Deps, *, max_jobs: int) -> None:
    """`convene worker`: keep one worker process running until asked to stop.

    The worker is forked from this process once its modules are imported, and forked again
    whenever it ends: after `max_jobs` jobs (so its memory is given back), or killed mid-job.
    A crash then costs a fork, not an interpreter's cold start, and the job it killed is
    resumed by the reconciler from its row. SIGTERM and SIGINT are passed on to the worker,
    which finishes the job in hand first (RQ's warm shutdown)."""
    deps.engine.dispose()  # the start-up checks' connections: each worker opens its own
    _adopt_orphans()
    child = 0
    stopping = False

    def pass_on(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        if child:
            os.kill(child, signum)

    signal.signal(signal.SIGTERM, pass_on)
    signal.signal(signal.SIGINT, pass_on)
    backoff = Backoff(first=1.0, cap=30.0)
    while not stopping:
        started = time.monotonic()
        sys.stdout.flush()
        sys.stderr.flush()
        child = os.fork()
        if child == 0:
            _work_in_child(deps, max_jobs=max_jobs)
        _, status = os.waitpid(child, 0)
        child = 0
        code = os.waitstatus_to_exitcode(status)
        _end_leftovers()
        if stopping:
            return
        if code == 0:
            log.info("worker_recycled", max_jobs=max_jobs)
            continue
        log.warning("worker_process_died", exit_code=code)
        if time.monotonic() - started < 1.0:
            # Dying again and again as it starts (a bad deploy) is waited out with growing
            # pauses instead of a fork loop; a worker killed mid-job is replaced at once.
            time.sleep(backoff.failed())
        else:
            backoff.reset()


# prctl(2): orphaned descendants are re-parented to this process instead of to init.
PR_SET_CHILD_SUBREAPER = 36


def _adopt_orphans() -> None:
    """Make what a killed worker leaves behind (RQ's scheduler, which it forked) our child.

    That scheduler holds copies of the dead worker's Redis connections, so Redis would still
    hand the dead worker's blocking pop the next wake-up pushed, into a socket nobody reads.
    Linux only; elsewhere the reconciler finds such a wake-up lost."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def _end_leftovers() -> None:
    try:
        text = Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children").read_text()
    except OSError:
        return
    for pid in map(int, text.split()):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)


def _work_in_child(deps: Deps, *, max_jobs: int) -> NoReturn:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    deps.engine.dispose(close=False)  # never share a connection the parent may hold
    code = 0
    try:
        run_worker(deps, burst=False, max_jobs=max_jobs)
    except BaseException as exc:  # noqa: BLE001 - the parent forks a new worker either way
        log.exception("worker_process_failed", error=repr(exc))
        code = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
