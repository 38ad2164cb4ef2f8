"""Embedded mode: the worker and the clock run inside the current process.

With no REDIS_URL the queue is an in-process stand-in, so no other process could see it; the
web process (and the demo, and tests) run jobs on a thread here instead.
"""

from __future__ import annotations

import threading

import structlog
from rq import SimpleWorker
from rq.serializers import JSONSerializer
from rq.timeouts import TimerDeathPenalty

from orchestrator import jobs
from orchestrator.deps import Deps
from orchestrator.timers.tick import tick

log = structlog.get_logger(__name__)


class ThreadWorker(SimpleWorker):
    """An RQ worker that can live off the main thread: no signal handlers, timer timeouts."""

    death_penalty_class = TimerDeathPenalty

    def _install_signal_handlers(self) -> None:
        pass

    # RQ's command channel (stop a job, shut a worker down from another process) has nothing to
    # reach in a drain that lives for milliseconds, and its listener thread blocks for up to a
    # second on every teardown.
    def subscribe(self) -> None:
        pass

    def unsubscribe(self) -> None:
        pass


def drain(deps: Deps) -> None:
    """Run every wake-up that is due now, including those they enqueue, then return."""
    jobs.install(deps)
    worker = ThreadWorker([deps.queue], connection=deps.redis, serializer=JSONSerializer)
    worker.work(burst=True, with_scheduler=True, logging_level="WARNING")


def run_in_background(
    deps: Deps, *, stop: threading.Event, tick_seconds: float = 1.0
) -> threading.Thread:
    """Worker + clock on one daemon thread, until `stop` is set."""

    def loop() -> None:
        last_tick = 0.0
        while not stop.is_set():
            try:
                drain(deps)
                now = deps.clock.now().timestamp()
                if now - last_tick >= deps.settings.clock_interval_seconds:
                    tick(deps)
                    last_tick = now
            except Exception as exc:  # noqa: BLE001 - keep the embedded loop alive
                log.exception("embedded_loop_error", error=repr(exc))
            stop.wait(tick_seconds)

    thread = threading.Thread(target=loop, name="convene-embedded", daemon=True)
    thread.start()
    return thread
