"""The loops of `convene worker` and `convene clock`: an outage of Redis (or of the database)
is logged and waited out with growing pauses, never a reason to exit.

Nothing is lost meanwhile: PostgreSQL holds every job and action, a wake-up that could not be
queued is left to the reconciler (see `wakeups`), and the clock keeps doing its database work.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from types import FrameType

import structlog
from rq import Worker
from rq.serializers import JSONSerializer

from orchestrator.deps import Deps
from orchestrator.timers.tick import tick

log = structlog.get_logger(__name__)

# A worker that ran this long before it lost Redis was healthy: the next outage starts over.
HEALTHY_RUN_SECONDS = 60.0


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


class _Worker(Worker):
    """RQ's worker, remembering a stop request: its loop also quits when Redis goes away, and
    only a stop request should end the process."""

    stop_requested = False

    def request_stop(self, signum: int, frame: FrameType | None) -> None:
        self.stop_requested = True
        super().request_stop(signum, frame)


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


def run_worker(deps: Deps, *, burst: bool) -> None:
    """Run queued wake-ups until asked to stop (with `burst`, until the queue is empty)."""
    backoff = Backoff(first=1.0, cap=30.0)
    while True:
        started = time.monotonic()
        worker: _Worker | None = None
        try:
            worker = _Worker([deps.queue], connection=deps.redis, serializer=JSONSerializer)
            worker.work(burst=burst, with_scheduler=True)
        except Exception as exc:  # noqa: BLE001 - RQ's start and teardown talk to Redis too
            log.warning("worker_interrupted", error=repr(exc))
        if worker is not None and worker.stop_requested:
            return
        up = _redis_up(deps)
        if burst and up:
            return
        if time.monotonic() - started >= HEALTHY_RUN_SECONDS:
            backoff.reset()
        pause = backoff.failed()
        log.warning("worker_restarting", redis="up" if up else "down", in_seconds=pause)
        if _pause(pause):
            return
