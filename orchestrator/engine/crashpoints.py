"""Named places right after a commit (or a provider call) where a process may die.

Every state the runner and the outbox can leave between two commits must be one the reconciler
repairs. Naming the places lets a test stop the code at each of them, and lets the attack suite
kill a real process there (`CONVENE_CRASH_AT=outbox.finished:0.2,runner.step_committed`: each
name, with an optional probability, exits the process as kill -9 would; read on first use, so
every `convene` process obeys it without being told). `name:stop` freezes the process there
with SIGSTOP instead, as a GC pause or a frozen VM would, until someone sends it SIGCONT: that
is how the attack suite holds a sender past its lease at exactly the moment that matters.

Unarmed, `crashpoint` is two dictionary lookups.
"""

from __future__ import annotations

import os
import random
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

ENVIRONMENT = "CONVENE_CRASH_AT"
# The exit status of a process killed by SIGKILL, as a shell reports it.
EXIT_STATUS = 137

POINTS = frozenset(
    {
        # runner.run_step
        "runner.leased",
        "runner.step_ran",  # the step's work is done, nothing of it committed yet
        "runner.step_committed",
        "runner.failure_recorded",
        "runner.resumed",  # resume_if_decided queued the parked job
        # outbox.decide
        "outbox.decided",
        # outbox.execute
        "outbox.claimed",
        "outbox.provider_called",  # the provider has it, our row does not say so yet
        "outbox.finished",
        "outbox.failure_recorded",
        "outbox.card_refreshed",
        # webhooks.deliver
        "webhook.claimed",
        "webhook.posted",  # the receiver has it, our row does not say so yet
        # commands.transcripts.receive_transcript
        "transcript.kept",  # the transcript and its job are committed, not yet woken or answered
        # timers.pre_meeting
        "pre_meeting.posted",  # the attendee has the DM, its ts is not recorded yet
    }
)


class SimulatedCrash(BaseException):
    """The process "died" here. A BaseException, so no `except Exception` on the way up can
    record it as an ordinary failure: like kill -9, nothing after the point runs."""


_lock = threading.Lock()
_armed: dict[str, Callable[[], None] | None] = {}
_from_environment: dict[str, float] | None = None


STOP = -1.0  # the rate `name:stop` is stored as


def crashpoint(name: str) -> None:
    environment = load_environment() if _from_environment is None else _from_environment
    if name in environment:
        rate = environment[name]
        if rate == STOP:
            os.kill(os.getpid(), signal.SIGSTOP)  # resumes here on SIGCONT
        elif random.random() < rate:  # noqa: S311 - chaos, not security
            os._exit(EXIT_STATUS)
        return
    if name not in _armed:
        return
    with _lock:
        if name not in _armed:
            return  # another thread took this one-shot
        then = _armed.pop(name)
    if then is None:
        raise SimulatedCrash(name)
    then()


@contextmanager
def armed(name: str, then: Callable[[], None] | None = None) -> Iterator[None]:
    """The next time `name` is reached, raise `SimulatedCrash` (or, with `then`, run it there,
    once: a stalled process, while another does its work). Disarmed on leaving the block."""
    if name not in POINTS:
        raise ValueError(f"no crash point named {name!r}")
    with _lock:
        _armed[name] = then
    try:
        yield
    finally:
        with _lock:
            _armed.pop(name, None)


def load_environment(value: str | None = None) -> dict[str, float]:
    """Arm the points `CONVENE_CRASH_AT` (or `value`) names, replacing those armed before."""
    global _from_environment
    text = os.environ.get(ENVIRONMENT, "") if value is None else value
    points: dict[str, float] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, _, rate = item.partition(":")
        if name not in POINTS:
            raise ValueError(f"{ENVIRONMENT}: no crash point named {name!r}")
        points[name] = STOP if rate == "stop" else float(rate) if rate else 1.0
    _from_environment = points
    return points
