"""What a listener does after its ack, on a pool of its own.

Bolt runs each listener on its listener pool and answers Slack when the listener calls `ack()`.
A listener that goes on to call Slack and the database keeps that thread until it is done, so in
a burst (a team clicking Start at once) the next requests wait for a free thread, behind that
work, before they can even ack, and Slack gives up on them after 3 s. Handing the rest of the
work here frees the listener's thread at its ack.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import structlog

log = structlog.get_logger(__name__)

# Fewer than the database pool's 15 connections: work queued here may hold connections while
# it waits (on a reference counter, say), and the ack path's own query (the replay check) must
# still find one free. A queue of starts is answered a little later; a late ack is an error.
THREADS = 8


class AfterAck:
    def __init__(self, *, threads: int = THREADS) -> None:
        # Threads start on first use; at exit Python finishes the queued work before leaving.
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="after-ack")

    def run(self, work: Callable[[], None]) -> None:
        """Run `work` soon, on another thread. It must tell the rep of its own failures: the
        ack already said all was well."""
        self._pool.submit(_logged, work)


def _logged(work: Callable[[], None]) -> None:
    try:
        work()
    except Exception:  # noqa: BLE001 - a pool swallows what it runs; the log must not
        log.exception("after_ack_failed")
