"""The attack suite: real Convene processes under kill -9, stalls, Redis loss, racing clicks,
forged and replayed Slack requests, hostile mail and a compromised model.

    python bench/chaos.py            # reduced sizes, a few minutes (CI)
    python bench/chaos.py --full     # issue #12's sizes: ≥ 50 sends under kill -9, ≥ 500 races
    python bench/chaos.py --seed 7   # another sequence of random moments

It starts `convene web`, two `convene worker`s and `convene clock` as separate processes on a
PostgreSQL database of its own (created and dropped here) and a redis-server of its own (on a
free port, so FLUSHALL and a restart reach nothing else), with the local Slack stand-in, an SMTP
server that counts every DATA per Message-ID and files it in an IMAP Sent folder (pymap), and a
compromised OpenAI-compatible model — everything on 127.0.0.1. Then, each loop bounded:

- kill -9 of workers, work horses and the clock at random moments while requests are drafted,
  approved and sent;
- SIGSTOP of the worker whose horse is about to hand an approved email to SMTP, for longer than
  the execution lease, then SIGCONT (alongside the other scenarios);
- Redis FLUSHALL between approvals, then the server killed and restarted, with a Start click
  during the outage;
- approve/approve, approve/reject and approve/undo from two processes at once;
- forged, stale, oversized, malformed and replayed Slack requests, and a non-owner's clicks;
- the hostile-mail corpus, replies found in another rep's mailbox, replies from strangers on a
  thread, and replies the rules are unsure of, which the compromised model answers.

After the run settles it prints one table, judged from the database and the counting fakes
(`bench/chaos/verdicts.py` says exactly how), and exits 1 on any violation. Ctrl-C stops it; every
process and the database it made are removed either way.
"""

from __future__ import annotations

import argparse
import random
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func  # noqa: E402
from sqlmodel import Session, col, select  # noqa: E402

from bench.chaos.driver import Driver  # noqa: E402
from bench.chaos.mail_attacks import drafts_after_reply, mail, mailbox_positions  # noqa: E402
from bench.chaos.process_attacks import kill9, redis_outage, stall  # noqa: E402
from bench.chaos.races import concurrent_starts, races  # noqa: E402
from bench.chaos.rig import REPS, Rig, monitor  # noqa: E402
from bench.chaos.run import FULL, REDUCED, Run, say  # noqa: E402
from bench.chaos.slack_attacks import slack_attacks  # noqa: E402
from bench.chaos.verdicts import TERMINAL, Ledger, Row, judge  # noqa: E402
from db.models import PendingAction, SequenceJob  # noqa: E402

SETTLE_PATIENCE = 60.0
COLUMNS = (
    "cases",
    "accepted",
    "lost",
    "dup calls",
    "stuck",
    "misrouted",
    "untrusted rcpt",
    "other",
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="the issue's sizes (long)")
    parser.add_argument("--seed", type=int, default=12, help="random moments and choices")
    parser.add_argument("--keep-logs", type=Path, help="copy the processes' logs here")
    args = parser.parse_args(argv)

    def interrupted(*_: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupted)
    with tempfile.TemporaryDirectory(prefix="convene-chaos-", ignore_cleanup_errors=True) as tmp:
        try:
            return attack(Path(tmp), full=args.full, seed=args.seed, keep=args.keep_logs)
        except KeyboardInterrupt:
            print("interrupted: everything started was stopped", file=sys.stderr)
            return 130


def attack(workdir: Path, *, full: bool, seed: int, keep: Path | None) -> int:
    started = time.monotonic()
    sizes = FULL if full else REDUCED
    rig = Rig(workdir)
    ledger = Ledger(trusted={email for _, _, email, _ in REPS.values()})
    stop = threading.Event()
    try:
        rig.open()
        monitor(rig, stop)
        run = Run(rig, Driver(rig), ledger, random.Random(seed), sizes)
        say(f"stack up in {time.monotonic() - started:.0f} s: {rig.database_url}")
        kill9(run)
        stalls = stall(run)
        redis_outage(run)
        races(run)
        slack_attacks(run)
        concurrent_starts(run)
        mail(run)
        rig.scenario = run.driver.scenario = "settling"
        stalls.join(timeout=rig.execution_lease_seconds() * sizes.stall + 120)
        waited = settle(run, timeout=rig.execution_lease_seconds() + 60)
        say(f"settled after {waited:.0f} s" if waited >= 0 else "did NOT settle")
        for name in ("stranger replies", "cross-rep replies"):
            scenario = ledger.scenarios[name]
            scenario.accepted = drafts_after_reply(run, scenario)
            scenario.expect_accepted = 0
        ledger.scenarios["hostile mail"].stuck += mailbox_positions(run)
        for crash in rig.crashes():
            name, _, detail = crash.partition(": ")
            ledger.add(name).other.append(f"died on its own: {detail}"[:400])
        rows = judge(rig, ledger, answers=run.driver.answers)
        ok = report(rows, full=full, seed=seed, seconds=time.monotonic() - started)
        return 0 if ok else 1
    finally:
        stop.set()
        if keep is not None:
            keep.mkdir(parents=True, exist_ok=True)
            for log in workdir.glob("*.log"):
                (keep / log.name).write_bytes(log.read_bytes())
        rig.close()


def settle(run: Run, *, timeout: float) -> float:
    """Wait until nothing is in flight (three looks in a row) and every mailbox caught up;
    the seconds it took, or -1 at the timeout (the table then shows what was left)."""
    assert run.rig.engine is not None
    start = time.monotonic()
    calm = 0
    while time.monotonic() - start < timeout:
        with Session(run.rig.engine) as session:
            busy = session.exec(
                select(func.count())
                .select_from(SequenceJob)
                .where(col(SequenceJob.status).in_(["queued", "running"]))
            ).one()
            busy += session.exec(
                select(func.count())
                .select_from(PendingAction)
                .where(col(PendingAction.status).in_(["approved", "executing"]))
            ).one()
            parked = session.exec(
                select(SequenceJob.id).where(SequenceJob.status == "waiting_approval")
            ).all()
            open_actions = {
                a.job_id
                for a in session.exec(
                    select(PendingAction).where(col(PendingAction.job_id).in_(parked))
                ).all()
                if a.status not in TERMINAL
            }
            parked_done = len(set(parked) - open_actions)
        # A parked job or a mailbox that stopped does not move by waiting: looked at only
        # for the first minute. Work in flight may need the whole execution lease.
        if time.monotonic() - start < SETTLE_PATIENCE:
            busy += parked_done + len(mailbox_positions(run))
        calm = calm + 1 if busy == 0 else 0
        if calm >= 3:
            return time.monotonic() - start
        time.sleep(1)
    return -1


def report(rows: list[Row], *, full: bool, seed: int, seconds: float) -> bool:
    width = max(len(r.name) for r in rows) + 2
    print(
        f"chaos ({'full' if full else 'reduced'}, seed {seed}): real convene web + 2 workers + "
        f"clock on PostgreSQL and Redis, {seconds:.0f} s"
    )
    print(f"{'scenario':<{width}}" + "".join(f"{c:>15}" for c in COLUMNS))
    for r in rows:
        accepted = f"{r.accepted}{'!' if r.accepted_bad else ''}"
        figures = (
            r.cases,
            accepted,
            r.lost,
            r.duplicated,
            r.stuck,
            r.misrouted,
            r.untrusted,
            r.other,
        )
        print(f"{r.name:<{width}}" + "".join(f"{f!s:>15}" for f in figures))
    violations = sum(r.violations for r in rows)
    print(
        "accepted: sends executed; winning decisions (races); attack requests served and "
        "replies acted on (Slack attacks, cross-rep, stranger: must be 0, '!' when not)"
    )
    for r in rows:
        for detail in r.details[:12]:
            print(f"  {r.name}: {detail if len(detail) < 240 else detail[:237] + '...'}")
        if len(r.details) > 12:
            print(f"  {r.name}: … and {len(r.details) - 12} more")
    print(f"violations: {violations}" + (" — FAILED" if violations else " — passed"))
    return violations == 0


if __name__ == "__main__":
    sys.exit(main())
