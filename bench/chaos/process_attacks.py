"""Attacks on the processes and services under the product: kill -9 of workers, work horses and
the clock; a sender frozen (SIGSTOP) past its execution lease; Redis flushed and restarted."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from urllib.parse import quote

from sqlmodel import Session, select

from bench.chaos.driver import Draft, button
from bench.chaos.rig import UNDO_SECONDS, Rig
from bench.chaos.run import SAM, Run, say
from db.models import PendingAction, SchedulingAttendee

CRASH_ENV = "CONVENE_CRASH_AT"
CRASH_PROBABILITY = 0.05


def crash_points() -> str:
    """The product's named crash points, each armed with a small probability; empty when the
    product has none."""
    import orchestrator

    if not (Path(orchestrator.__file__).parent / "engine" / "crashpoints.py").exists():
        return ""
    from orchestrator.engine.crashpoints import POINTS  # type: ignore[import-not-found,unused-ignore]

    return ",".join(f"{point}:{CRASH_PROBABILITY}" for point in sorted(POINTS))


# --- kill -9 -------------------------------------------------------------------------------------


class Killer:
    """kill -9 of a worker (with its horse), of a work horse alone, or of the clock, at random
    moments; the rig's supervisor starts a killed process again."""

    def __init__(self, rig: Rig, rng: random.Random, gap: tuple[float, float]) -> None:
        self.rig, self.rng, self.gap = rig, rng, gap
        self.counts: Counter[str] = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="chaos-killer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.wait(self.rng.uniform(*self.gap)):
            with self.rig._lock:
                workers = [w for w in self.rig.workers() if w.alive() and not w.stopped]
                target = self.rng.choice(["worker", "horse", "horse", "clock"])
                if target == "clock":
                    self.rig.procs["clock"].kill()
                elif target == "worker" and workers:
                    self.rng.choice(workers).kill()
                elif target == "horse":
                    horses = [h for w in workers if (h := w.horse())]
                    if not horses and workers:
                        # A worker that runs its jobs in its own process has no horse: the
                        # job dies with the worker.
                        self.rng.choice(workers).kill()
                        target = "worker"
                    elif not horses:
                        continue
                    else:
                        try:
                            os.kill(self.rng.choice(horses), signal.SIGKILL)
                        except ProcessLookupError:
                            continue
                else:
                    continue
                self.counts[target] += 1


def kill9(run: Run) -> None:
    """Requests drafted, approved and sent while processes die; each card is approved as soon
    as it arrives (a killed step only comes back after its lease or a lost wake-up's grace)."""
    s = run.scenario("kill -9")
    n = run.sizes.kill
    prospects = [run.address(s, f"k{i}") for i in range(n)]
    armed = crash_points()
    if armed:
        # The named commit boundaries die too, in the worker and clock processes.
        run.rig.arm(["worker-1", "worker-2", "clock"], {CRASH_ENV: armed})
        s.notes.append(f"note: {CRASH_ENV}={armed}")
    killer = Killer(run.rig, run.rng, run.sizes.kill_gap)
    killer.start()
    approved: set[str] = set()
    try:
        run.driver.start_many(prospects, SAM)
        deadline = time.monotonic() + 60 + 3 * n
        while len(approved) < n and time.monotonic() < deadline:
            waiting = [p for p in prospects if p not in approved]
            for prospect, draft in run.driver.drafts(waiting, timeout=0.1).items():
                run.driver.click("approve_action", draft)
                approved.add(prospect)
                time.sleep(run.rng.uniform(0, 0.3))
            time.sleep(0.5)
        # The sends themselves happen under fire too, and a fast run still takes its kills.
        settle_by = time.monotonic() + UNDO_SECONDS + 8
        while time.monotonic() < settle_by or (
            sum(killer.counts.values()) < run.sizes.min_kills and time.monotonic() < deadline
        ):
            time.sleep(0.5)
    finally:
        killer.stop()
        if armed:
            run.rig.arm(["worker-1", "worker-2", "clock"], {})
    s.cases = len(approved)
    if len(approved) < n:
        s.notes.append(f"note: {n - len(approved)} of {n} cards never arrived to be approved")
    s.notes.append(f"note: kill -9 of {dict(killer.counts)}")
    say(f"kill -9: {len(approved)} approved under {sum(killer.counts.values())} kills")


# --- SIGSTOP past the lease ----------------------------------------------------------------------

# Where a frozen sender hurts: after its claim, before the provider call (the fence must stop it
# sending once it wakes), and after the provider call, before its row says so (the worker that
# takes over must find the email in Sent instead of sending it again).
STALL_POINTS = ("outbox.claimed", "outbox.provider_called")
STALL_WORKER = "worker-stall"


def stall(run: Run) -> threading.Thread:
    """A sender frozen at a chosen point for longer than the execution lease (the clock hands
    the send to another worker), then thawed.

    A third worker runs with `CONVENE_CRASH_AT=<point>:stop`, so the process that claims the
    send (the worker, or a work horse it forked) stops itself (SIGSTOP) at exactly that point;
    the two ordinary workers are held with SIGSTOP until it has, so the send cannot go
    elsewhere first. Then they are let go, and the frozen process stays stopped until the send
    was finished by another worker (or well past the lease), when it gets SIGCONT and carries
    on from where it stopped.
    """
    s = run.scenario("SIGSTOP past lease")
    drafts = run.prepare(s, SAM, "s", run.sizes.stall * 3)
    lease = run.rig.execution_lease_seconds()

    def rounds() -> None:
        for draft in drafts:
            if s.cases >= run.sizes.stall:
                break
            point = STALL_POINTS[s.cases % len(STALL_POINTS)]
            outcome = _stall_round(run, draft, lease, point)
            s.notes.append(f"note: {draft.prospect}: {outcome}")
            if outcome.startswith("stopped"):
                s.cases += 1
        run.rig.remove_worker(STALL_WORKER)
        if s.cases < run.sizes.stall:
            # An attack that never happened must not pass as one that was survived.
            s.other.append(f"only {s.cases} of {run.sizes.stall} rounds froze a sender")

    thread = threading.Thread(target=rounds, name="chaos-stall", daemon=True)
    thread.start()
    say(f"SIGSTOP: {run.sizes.stall} round(s) past a {lease:.0f} s lease, alongside")
    return thread


def _stall_round(run: Run, draft: Draft, lease: float, point: str) -> str:
    rig = run.rig
    stall_worker = rig.add_worker(STALL_WORKER, {"CONVENE_CRASH_AT": f"{point}:stop"})
    held = [w for w in rig.workers() if w is not stall_worker]
    action_id = uuid.UUID(draft.action_id)
    horse = None
    try:
        for worker in held:
            worker.stopped = True
            worker.signal_all(signal.SIGSTOP)
        run.driver.click("approve_action", draft)
        deadline = time.monotonic() + UNDO_SECONDS + 30
        while horse is None and time.monotonic() < deadline:
            time.sleep(0.1)
            candidate = stall_worker.runner()
            if candidate is not None and _state(candidate) == "T":
                horse = candidate
    finally:
        for worker in held:
            worker.signal_all(signal.SIGCONT)
            worker.stopped = False
    if horse is None:
        return f"never stopped at {point}"
    stopped_at = time.monotonic()
    # Held until another worker finished the send, or well past the lease.
    while time.monotonic() - stopped_at < lease + 60 and not _finished(rig, action_id):
        time.sleep(0.5)
    seconds = time.monotonic() - stopped_at
    with contextlib.suppress(ProcessLookupError):
        os.kill(horse, signal.SIGCONT)
    time.sleep(2)  # let the thawed horse try whatever it was about to do
    return f"stopped {seconds:.0f} s at {point}, then continued"


def _state(pid: int) -> str:
    """A process's state letter from /proc (T: stopped)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return ""


def _finished(rig: Rig, action_id: uuid.UUID) -> bool:
    with Session(rig.engine) as session:
        action = session.get(PendingAction, action_id)
        return action is not None and action.status in ("executed", "failed")


# --- Redis flush and restart ---------------------------------------------------------------------


def redis_outage(run: Run) -> None:
    s = run.scenario("Redis flush+restart")
    s.cases = run.sizes.redis
    drafts = run.prepare(s, SAM, "r", run.sizes.redis)
    half = len(drafts) // 2
    for draft in drafts[:half]:
        run.driver.click("approve_action", draft)
    run.rig.flush_redis()  # every queued and scheduled wake-up is gone
    for draft in drafts[half:]:
        run.driver.click("approve_action", draft)
    time.sleep(1)
    run.rig.stop_redis()
    outage = run.address(s, "outage")
    started = time.monotonic()
    body, hook = run.driver.command(f"demo with {outage} next week", SAM)
    run.driver.send("command", body)
    card = run.driver.answer_on(hook, timeout=15)
    value = button(card, "start_request")
    answered = False
    if value is not None:
        click_body = run.driver.click_body(
            "start_request", value, user=SAM, channel="DU0SAM", ts="e"
        )
        hook2 = _hook_of(click_body)
        run.driver.send("start", click_body)
        answered = run.driver.answer_on(hook2, timeout=15) is not None
        # The rep clicks Start again on the same card: still one request.
        run.driver.send(
            "start",
            run.driver.click_body("start_request", value, user=SAM, channel="DU0SAM", ts="e"),
        )
    if not answered:
        s.other.append("Start during the Redis outage got no answer")
    s.notes.append(
        f"note: Start during the outage answered={answered} "
        f"after {time.monotonic() - started:.1f} s"
    )
    time.sleep(max(0.0, 5 - (time.monotonic() - started)))
    run.rig.start_redis()
    s.cases += 1
    late = run.driver.drafts([outage], timeout=90)
    for draft in late.values():
        run.driver.click("approve_action", draft)
    with Session(run.rig.engine) as session:
        count = len(
            session.exec(
                select(SchedulingAttendee.request_id).where(SchedulingAttendee.email == outage)
            ).all()
        )
    if count != 1:
        s.other.append(f"Start clicked twice during the outage made {count} requests")
    time.sleep(UNDO_SECONDS + 2)
    say(f"Redis: {len(drafts)} approved around a FLUSHALL and a restart")


def _hook_of(click_body: bytes) -> str:
    text = click_body.decode()
    marker = quote("/hooks/")
    start = text.index(marker) + len(marker)
    return text[start:].split("%22", 1)[0]
