"""The clock and the workers as the deployment grows: a tick costs what is due, not what exists.

    python bench/scale.py [--sizes 1000,10000,100000] [--due 30] [--rounds 5] [--plans]
                          [--reuse] [--worker-steps 2000] [--ack-seconds 15]

For each size N it creates a PostgreSQL database of its own (on BENCH_PG_ADMIN_URL's server,
dropped at the end), migrates it and fills it with N requests the way `bench/clock_plans.py`
does (its populate code: one rep per 100 requests, most chasing a reply, drafts waiting,
meetings booked and ended, their jobs, drafts, emails, audit rows and notifications). Filling
takes about 3 s at 10,000 and 40-60 s at 100,000 on a quiet two-core machine; `--reuse` keeps a
filled copy per size and schema revision and starts later runs from it (a file copy: a few
seconds at 100,000; drop them with `--drop-kept`).

The clock first ticks until it settles (the first tick works out every rep's brief time and
runs the hourly work; a deployment's statistics then reflect that state, so the tables are
analysed as autovacuum would). Then, `--rounds` times: a tick with nothing due, and a tick
after `--due` items were made due (follow-ups, reminders, meetings just ended). The tick is
every part of `timers.tick` but the mail poll, which only queues a read per mailbox for the
workers; the read that picks those mailboxes is timed on its own.

At the largest size it also runs, once: `bench/worker_throughput.py`'s in-process worker over
`--worker-steps` follow-up steps on this database (with a redis-server of its own), and
`bench/ack_latency.py`'s open-loop Slack load for `--ack-seconds` (on its own embedded stack:
acks do not read the clock's tables). Approve-to-send latency is `bench/approve_latency.py`'s
(separate processes, undo window 0).

It prints one table by size with each goal and the growth from the smallest size to the
largest, and exits 1 when a goal is missed (after printing every figure it got).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import fakeredis  # noqa: E402
import psycopg  # noqa: E402
from psycopg import sql  # noqa: E402
from sqlalchemy import text  # noqa: E402

from bench import ack_latency, worker_throughput  # noqa: E402
from bench.clock_plans import (  # noqa: E402
    NOW,
    clock_parts,
    explain_tick,
    make_due,
    populate,
    timed,
    workers_ran,
)
from connectors.clock import ManualClock  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from orchestrator.bootstrap import bootstrap  # noqa: E402
from orchestrator.deps import Deps  # noqa: E402
from orchestrator.inbox.mail_polls import mailboxes_to_read  # noqa: E402
from orchestrator.settings import Settings  # noqa: E402

PG_ADMIN_URL = worker_throughput.PG_ADMIN_URL
PREFIX = "convene_bench_scale_"
SIZES = (1_000, 10_000, 100_000)
IDLE_GOAL_MS = 20.0
DUE_GOAL_MS = 100.0
# One read of what is due and the clock's heartbeat row, at any size.
IDLE_STATEMENTS_GOAL = 2
WORKER_GOAL = worker_throughput.GOAL_STEPS_PER_SECOND
ACK_GOAL_MS = ack_latency.TARGET_P99_MS


@dataclass
class Figures:
    populate_s: float | None = None
    idle_ms: float | None = None
    idle_best_ms: float | None = None
    idle_worst_ms: float | None = None
    idle_worst_statements: int | None = None
    due_ms: float | None = None
    idle_statements: int | None = None
    due_statements: int | None = None
    mailboxes_ms: float | None = None
    errors: list[str] = field(default_factory=list)


# --- databases -----------------------------------------------------------------------------------


def _admin(statement: sql.Composable) -> None:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(statement)


def _exists(name: str) -> bool:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        return (
            conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
            is not None
        )


def _url(name: str) -> str:
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}/{name}"


def _deps(name: str, clock: ManualClock) -> Deps:
    return bootstrap(
        Settings(database_url=_url(name), redis_url=None), clock=clock, redis=fakeredis.FakeRedis()
    )


def _head() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    root = Path(__file__).resolve().parents[1]
    config = Config(str(root / "alembic.ini"))
    config.set_main_option("script_location", str(root / "db" / "migrations"))
    return str(ScriptDirectory.from_config(config).get_current_head())


def filled(n: int, *, reuse: bool) -> tuple[str, float]:
    """A fresh database holding n requests, and the seconds filling it took (0 when copied
    from a kept one)."""
    name = f"{PREFIX}{n}_{uuid.uuid4().hex[:8]}"
    kept = f"{PREFIX}kept_{n}_r{_head()}"
    if reuse and _exists(kept):
        _admin(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(*map(sql.Identifier, (name, kept))))
        return name, 0.0
    target = kept if reuse else name
    _admin(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(target)))
    started = time.perf_counter()
    upgrade(_url(target))
    deps = _deps(target, ManualClock(NOW))
    populate(deps, n)
    deps.engine.dispose()
    seconds = time.perf_counter() - started
    if reuse:
        _admin(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(*map(sql.Identifier, (name, kept))))
    return name, seconds


def drop(name: str) -> None:
    _admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


# --- one size ------------------------------------------------------------------------------------


def settle(deps: Deps, clock: ManualClock) -> None:
    """Tick until a tick finds nothing to do, as a running clock would have long since."""
    for _ in range(5):
        clock_parts(deps)
        workers_ran(deps)
        clock.advance(timedelta(seconds=30))
    with deps.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))


def measure(deps: Deps, clock: ManualClock, figures: Figures, *, due: int, rounds: int) -> None:
    per_kind = max(1, due // 3)
    idle, busy, mailboxes = [], [], []
    for i in range(rounds):
        clock.advance(timedelta(seconds=30))
        idle.append(timed(deps, lambda: clock_parts(deps)))
        started = time.perf_counter()
        with deps.sessions() as session:
            mailboxes_to_read(session, now=clock.now())
        mailboxes.append((time.perf_counter() - started) * 1000)
        clock.advance(timedelta(seconds=30))
        make_due(deps, per_kind, offset=2 + i)
        busy.append(timed(deps, lambda: clock_parts(deps)))
        workers_ran(deps)
    figures.idle_ms = statistics.median(ms for ms, _ in idle)
    figures.idle_best_ms = min(ms for ms, _ in idle)
    # Every few minutes an idle tick also runs the periodic checks (stalled requests every 5,
    # health findings every 10, retention hourly): the worst idle tick is that one.
    figures.idle_worst_ms, figures.idle_worst_statements = max(idle)
    figures.due_ms = statistics.median(ms for ms, _ in busy)
    figures.idle_statements = int(statistics.median(count for _, count in idle))
    figures.due_statements = int(statistics.median(count for _, count in busy))
    figures.mailboxes_ms = statistics.median(mailboxes)


def plans(deps: Deps, clock: ManualClock, *, due: int, n: int) -> None:
    clock.advance(timedelta(seconds=30))
    print(f"\n=== plans: an idle tick, {n:,} requests ===")
    explain_tick(deps)
    clock.advance(timedelta(seconds=30))
    make_due(deps, max(1, due // 3), offset=1)
    print(f"\n=== plans: a tick with {3 * max(1, due // 3)} items due, {n:,} requests ===")
    explain_tick(deps)
    workers_ran(deps)


def one_size(n: int, args: argparse.Namespace, *, largest: bool) -> tuple[Figures, str | None]:
    """The figures at size n; at the largest size, the database is kept for the workers."""
    figures = Figures()
    name, seconds = filled(n, reuse=args.reuse)
    figures.populate_s = seconds or None  # None: copied from a kept one
    print(f"{n:,} requests: database ready in {seconds:.0f} s", flush=True)
    clock = ManualClock(NOW)
    deps = _deps(name, clock)
    try:
        settle(deps, clock)
        measure(deps, clock, figures, due=args.due, rounds=args.rounds)
        if args.plans and largest:
            plans(deps, clock, due=args.due, n=n)
    except Exception:  # noqa: BLE001 - reported with the figures
        figures.errors.append(traceback.format_exc(limit=3))
    finally:
        deps.engine.dispose()
    if largest:
        return figures, name
    drop(name)
    return figures, None


# --- once, at the largest size -------------------------------------------------------------------


def workers(name: str, steps: int) -> tuple[float, str]:
    with tempfile.TemporaryDirectory(prefix="convene-scale-") as tmp:
        redis, redis_url = worker_throughput.start_redis(Path(tmp))
        try:
            report = worker_throughput.run(
                "inproc", steps, database_url=_url(name), redis_url=redis_url, workdir=Path(tmp)
            )
        finally:
            redis.kill()
            redis.wait(timeout=10)
    if report["statuses"] != {"done": steps}:
        raise RuntimeError(f"worker left jobs {report['statuses']}")
    per_step = (
        f"{1000 * report['cpu_seconds'] / steps:.1f} CPU ms, "
        f"{report['statements'] / steps:.1f} SQL statements per step"
    )
    return steps / float(report["seconds"]), per_step


def acks(seconds: float) -> tuple[float, str]:
    with tempfile.TemporaryDirectory(prefix="convene-scale-", ignore_cleanup_errors=True) as tmp:
        results, _ = ack_latency.measure(Path(tmp), seconds=seconds, rate=20.0)
    if any(r.status != 200 for r in results):
        raise RuntimeError("an ack was not a 200")
    ms = sorted(r.latency_ms for r in results)
    p50, p90 = (ack_latency.percentile(ms, p) for p in (50, 90))
    return ack_latency.percentile(ms, 99), f"p50 {p50:.1f} ms, p90 {p90:.1f} ms, {len(ms)} acks"


# --- the table -----------------------------------------------------------------------------------


def _cell(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def table(sizes: list[int], by_size: dict[int, Figures]) -> bool:
    """Print the figures; True when every goal with a figure was met and nothing failed."""
    rows: list[tuple[str, Callable[[Figures], float | None], float | None, int]] = [
        ("tick, nothing due: median ms", lambda f: f.idle_ms, IDLE_GOAL_MS, 1),
        ("tick, nothing due: fastest ms", lambda f: f.idle_best_ms, None, 1),
        ("tick, work due: median ms", lambda f: f.due_ms, DUE_GOAL_MS, 1),
        ("SQL statements, idle tick", lambda f: f.idle_statements, IDLE_STATEMENTS_GOAL, 0),
        ("SQL statements, tick with work", lambda f: f.due_statements, None, 0),
        ("idle tick with periodic checks ms", lambda f: f.idle_worst_ms, None, 1),
        ("  its SQL statements", lambda f: f.idle_worst_statements, None, 0),
        ("mailboxes to poll: read ms", lambda f: f.mailboxes_ms, None, 1),
        ("database filled in s", lambda f: f.populate_s, None, 0),
    ]
    width = 12
    print(
        f"\n{'requests':<32}"
        + "".join(f"{n:>{width},}" for n in sizes)
        + f"{'goal':>{width}}{'largest/smallest':>18}"
    )
    ok = True
    for label, get, goal, digits in rows:
        values = [get(by_size[n]) for n in sizes]
        first, last = values[0], values[-1]
        growth = f"{last / first:.2f}" if first and last is not None and len(sizes) > 1 else "-"
        goal_text = "-" if goal is None else f"<= {goal:g}"
        print(
            f"{label:<32}"
            + "".join(f"{_cell(v, digits):>{width}}" for v in values)
            + f"{goal_text:>{width}}{growth:>18}"
        )
        if goal is not None:
            missed = [n for n, v in zip(sizes, values, strict=True) if v is None or v > goal]
            if missed:
                print(f"  goal missed at {', '.join(f'{n:,}' for n in missed)}")
                ok = False
    for n in sizes:
        for error in by_size[n].errors:
            print(f"\n{n:,} requests failed:\n{error}")
            ok = False
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--sizes", default=",".join(map(str, SIZES)), help="comma-separated request counts"
    )
    parser.add_argument("--due", type=int, default=30, help="items made due per busy tick")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--plans", action="store_true", help="EXPLAIN at the largest size")
    parser.add_argument("--reuse", action="store_true", help="keep and reuse filled databases")
    parser.add_argument("--drop-kept", action="store_true", help="drop the kept ones and exit")
    parser.add_argument("--worker-steps", type=int, default=2000, help="0 to skip")
    parser.add_argument("--ack-seconds", type=float, default=15.0, help="0 to skip")
    args = parser.parse_args()
    if args.drop_kept:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE %s", (f"{PREFIX}kept_%",)
            ).fetchall()
        for (kept,) in rows:
            drop(str(kept))
        return 0
    sizes = sorted(int(s) for s in args.sizes.split(","))
    # The figures are the output; the app's logs only when something goes wrong.
    ack_latency.configure_logs(level="WARNING")

    by_size: dict[int, Figures] = {}
    once: list[tuple[str, float | None, str, str]] = []
    ok = True
    kept: str | None = None
    try:
        for n in sizes:
            by_size[n], name = one_size(n, args, largest=n == sizes[-1])
            kept = name or kept
        if kept is not None and args.worker_steps > 0:
            once.append(_once("worker steps/s", lambda: workers(kept, args.worker_steps)))
        if args.ack_seconds > 0:
            once.append(_once("Slack ack p99 ms", lambda: acks(args.ack_seconds)))
    finally:
        if kept is not None:
            drop(kept)
        ok = table(sizes, by_size) and ok
        if once:
            print(f"\nonce, at {sizes[-1]:,} requests")
        for label, value, note, error in once:
            goal = f">= {WORKER_GOAL:g}" if label.startswith("worker") else f"<= {ACK_GOAL_MS:g}"
            print(f"{label:<32}{_cell(value):>12}{goal:>12}  {note}")
            if error:
                print(f"  failed: {error}")
            met = value is not None and (
                value >= WORKER_GOAL if label.startswith("worker") else value <= ACK_GOAL_MS
            )
            ok = ok and met
    return 0 if ok else 1


def _once(label: str, run: Callable[[], tuple[float, str]]) -> tuple[str, float | None, str, str]:
    try:
        value, note = run()
        return label, value, note, ""
    except Exception as exc:  # noqa: BLE001 - reported with the figures
        return label, None, "", repr(exc)


if __name__ == "__main__":
    sys.exit(main())
