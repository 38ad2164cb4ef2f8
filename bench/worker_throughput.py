"""Steps per second of one `convene worker` process, on PostgreSQL and Redis.

    python bench/worker_throughput.py                 # 2,000 steps in-process, 200 forking
    python bench/worker_throughput.py --steps 5000 --fork-steps 0

It creates a PostgreSQL database of its own (dropped at the end) and starts a redis-server of
its own on a free port, seeds requests the way the app leaves them (one rep per 100 requests,
each with our sent email and the prospect's reply after it), and queues one `follow_up_due`
job per request through the product's wake-ups. Each job runs one realistic, cheap step with no
model: `check_follow_up` reads the request, its rep, cadence, last reply and last email, finds
the prospect replied, and records that it skipped the nudge.

A worker process then drains the queue (`--burst`) twice over fresh jobs: once as `convene
worker` runs it, and once with RQ's forking worker (a fork per job, what `convene worker` ran
before), for comparison. Each prints its steps/s measured inside the process (imports and
start-up excluded), CPU time (with its work horses'), SQL statements, connection checkouts and
Redis round trips per step, and its peak resident memory before and after the run. The machine
may be shared: CPU ms per step is the figure that load disturbs least. Every job must end
`done` exactly once and no database connection may be left checked out; otherwise, or when
the in-process worker does fewer than GOAL_STEPS_PER_SECOND, the bench exits 1.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg  # noqa: E402
from redis import Redis  # noqa: E402
from sqlalchemy import event, func  # noqa: E402
from sqlmodel import Session, create_engine, select  # noqa: E402

from db.migrate import upgrade  # noqa: E402
from db.models import (  # noqa: E402
    EmailMessage,
    JobStatus,
    Rep,
    RequestStatus,
    SchedulingAction,
    SchedulingAttendee,
    SchedulingRequest,
    SequenceJob,
)

PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
GOAL_STEPS_PER_SECOND = 200.0
REQUESTS_PER_REP = 100
ORG = "T0BENCH"
QUEUE = "convene"


# --- the worker process --------------------------------------------------------------------------


def serve(mode: str) -> None:
    """Inside the worker process: drain the queue once and print what it cost, as JSON."""
    from orchestrator import jobs
    from orchestrator.bootstrap import bootstrap
    from orchestrator.logs import configure
    from orchestrator.settings import Settings

    settings = Settings()
    configure(level=settings.log_level, json=settings.log_json, secrets=settings.secret_values())
    deps = bootstrap(settings)
    jobs.install(deps)
    counts = {"statements": 0, "checkouts": 0, "redis": 0}
    # Every Redis round trip (a command or a whole pipeline) sends once.
    from redis.connection import Connection

    send = Connection.send_packed_command

    def counted_send(self: Connection, *args: Any, **kwargs: Any) -> None:
        counts["redis"] += 1
        send(self, *args, **kwargs)

    Connection.send_packed_command = counted_send  # type: ignore[method-assign]

    def statement(*_: Any) -> None:
        counts["statements"] += 1

    def checkout(*_: Any) -> None:
        counts["checkouts"] += 1

    event.listen(deps.engine, "before_cursor_execute", statement)
    event.listen(deps.engine, "checkout", checkout)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    cpu_before = _cpu_seconds()
    profile = os.environ.get("BENCH_PROFILE")
    profiler = cProfile.Profile(time.process_time) if profile else None  # CPU, not waits
    if profiler is not None:
        profiler.enable()
    started = time.perf_counter()
    if mode == "fork":
        from rq import Worker
        from rq.serializers import JSONSerializer

        Worker([deps.queue], connection=deps.redis, serializer=JSONSerializer).work(
            burst=True, with_scheduler=True
        )
    else:
        from orchestrator.engine.processes import run_worker

        run_worker(deps, burst=True, max_jobs=None)
    elapsed = time.perf_counter() - started
    if profiler is not None and profile:
        profiler.disable()
        profiler.dump_stats(profile)
    report = {
        "seconds": elapsed,
        "cpu_seconds": _cpu_seconds() - cpu_before,
        "statements": counts["statements"],
        "checkouts": counts["checkouts"],
        "redis": counts["redis"],
        # Every unit of work gives its connection back: none may be left checked out, and the
        # pool holds no more than its size however many jobs ran.
        "checked_out": deps.engine.pool.checkedout(),  # type: ignore[attr-defined]
        "pooled": deps.engine.pool.checkedin(),  # type: ignore[attr-defined]
        "max_rss_kb_before": rss_before,
        "max_rss_kb_after": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }
    print("RESULT " + json.dumps(report), flush=True)


def _cpu_seconds() -> float:
    """This process's CPU time and its finished children's (a forking worker's horses)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


# --- the bench -----------------------------------------------------------------------------------


def seed(session: Session, count: int, *, now: Any, run: str) -> list[uuid.UUID]:
    """`count` requests awaiting a response whose prospect replied after our email, each with a
    `follow_up_due` job ready to run its first step."""
    # No ORM relationships tell SQLAlchemy the order of the inserts: one table at a time.
    reps: list[Rep] = []
    requests: list[SchedulingRequest] = []
    children: list[Any] = []
    jobs: list[SequenceJob] = []
    rep: Rep | None = None
    for n in range(count):
        if n % REQUESTS_PER_REP == 0:
            rep = Rep(
                org_id=ORG,
                slack_user_id=f"U{run.upper()}{n:08d}",
                email=f"rep{n}.{run}@northwind.example",
                name=f"Rep {n}",
                created_at=now,
            )
            reps.append(rep)
        assert rep is not None
        request = SchedulingRequest(
            org_id=ORG,
            rep_id=rep.id,
            ref=f"{run.upper()}-{n + 1}",
            title="Demo",
            status=RequestStatus.awaiting_response,
            attempt_count=1,
            created_at=now - timedelta(days=2),
            updated_at=now - timedelta(days=1),
        )
        prospect = f"prospect{n}.{run}@acme.example"
        requests.append(request)
        children.extend(
            [
                SchedulingAttendee(
                    org_id=ORG,
                    request_id=request.id,
                    side="internal",
                    organizer=True,
                    email=rep.email,
                    created_at=now,
                ),
                SchedulingAttendee(
                    org_id=ORG,
                    request_id=request.id,
                    side="external",
                    email=prospect,
                    name="Pat Prospect",
                    created_at=now,
                ),
                EmailMessage(
                    org_id=ORG,
                    request_id=request.id,
                    direction="outbound",
                    message_id=f"<{run}-{n}@northwind.example>",
                    sender=rep.email,
                    recipients=[prospect],
                    subject="Demo",
                    status="sent",
                    created_at=now - timedelta(days=1),
                    sent_at=now - timedelta(days=1),
                ),
                SchedulingAction(
                    org_id=ORG,
                    request_id=request.id,
                    action_type="reply_received",
                    actor="prospect",
                    details={"sentiment": "positive"},
                    created_at=now - timedelta(hours=2),
                ),
            ]
        )
        job = SequenceJob(
            org_id=ORG,
            rep_id=rep.id,
            request_id=request.id,
            event_type="follow_up_due",
            event_source="bench",
            idempotency_key=f"bench:{request.id}",
            correlation_id=uuid.uuid4().hex,
            run_after=now - timedelta(minutes=1),
            created_at=now,
            updated_at=now,
        )
        jobs.append(job)
    for rows in (reps, requests, children, jobs):
        session.add_all(rows)
        session.flush()
    session.commit()
    return [job.id for job in jobs]


def run(
    mode: str,
    steps: int,
    *,
    database_url: str,
    redis_url: str,
    workdir: Path,
    profile: str | None = None,
) -> dict:
    from connectors.clock import SystemClock
    from orchestrator.bootstrap import make_queue, make_redis
    from orchestrator.engine.wakeups import WakeUps
    from orchestrator.settings import Settings

    engine = create_engine(database_url)
    with Session(engine) as session:
        job_ids = seed(session, steps, now=SystemClock().now(), run=mode)
    settings = Settings(database_url=database_url, redis_url=redis_url)
    wakeups = WakeUps(make_queue(settings, make_redis(settings)))
    for job_id in job_ids:
        wakeups.run_step(job_id, tag="0-0")
    env = os.environ | {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "QUEUE_NAME": QUEUE,
        "LOG_LEVEL": "INFO",
        "SLACK_API_URL": "http://127.0.0.1:9/api/",  # nothing is posted: no card, no notice
    }
    if profile and mode == "inproc":
        env["BENCH_PROFILE"] = profile
    log = workdir / f"worker-{mode}.log"
    with log.open("wb") as out:
        done = subprocess.run(
            [sys.executable, __file__, "--serve", mode],
            env=env,
            stdout=subprocess.PIPE,
            stderr=out,
            check=False,
            timeout=3600,
        )
    lines = [ln for ln in done.stdout.decode().splitlines() if ln.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"{mode} worker exited {done.returncode}; see {log}")
    report: dict = json.loads(lines[-1].removeprefix("RESULT "))
    with Session(engine) as session:
        statuses = dict(
            session.exec(  # type: ignore[call-overload]
                select(SequenceJob.status, func.count())
                .where(SequenceJob.id.in_(job_ids))  # type: ignore[attr-defined]
                .group_by(SequenceJob.status)
            ).all()
        )
        skipped = session.exec(
            select(func.count())
            .select_from(SchedulingAction)
            .where(SchedulingAction.action_type == "follow_up_skipped")
            .where(
                SchedulingAction.request_id.in_(  # type: ignore[union-attr]
                    select(SequenceJob.request_id).where(SequenceJob.id.in_(job_ids))  # type: ignore[attr-defined]
                )
            )
        ).one()
    engine.dispose()
    report |= {"steps": steps, "statuses": statuses, "skipped": skipped}
    return report


def start_redis(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    from bench.chaos.fakes import free_port

    port = free_port()
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
        + ["--appendonly", "no", "--dir", str(workdir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            Redis.from_url(url).ping()
            return proc, url
        except Exception:  # noqa: BLE001 - not up yet
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("redis-server did not start")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=2000, help="jobs for the in-process worker")
    parser.add_argument("--fork-steps", type=int, default=200, help="jobs for the forking one")
    parser.add_argument("--profile", help="write the in-process worker's cProfile stats here")
    parser.add_argument("--serve", choices=["fork", "inproc"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return 0

    name = f"convene_bench_{uuid.uuid4().hex[:10]}"
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    database_url = f"{base}/{name}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    redis_proc = None
    rows: list[tuple[str, dict]] = []
    try:
        upgrade(database_url)
        with tempfile.TemporaryDirectory(prefix="convene-bench-") as tmp:
            workdir = Path(tmp)
            redis_proc, redis_url = start_redis(workdir)
            for mode, steps in (("inproc", args.steps), ("fork", args.fork_steps)):
                if steps > 0:
                    report = run(
                        mode,
                        steps,
                        database_url=database_url,
                        redis_url=redis_url,
                        workdir=workdir,
                        profile=args.profile,
                    )
                    rows.append((mode, report))
    finally:
        if redis_proc is not None:
            redis_proc.kill()
            redis_proc.wait(timeout=10)
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    failed = False
    print(
        f"{'worker':<22} {'steps':>6} {'seconds':>8} {'steps/s':>8} {'ms/step':>8} "
        f"{'CPU ms/step':>11} {'SQL/step':>9} {'conns/step':>10} {'Redis/step':>10} "
        f"{'max RSS MB':>14}"
    )
    for mode, r in rows:
        rate = r["steps"] / r["seconds"]
        label = "convene worker" if mode == "inproc" else "forking (fork per job)"
        per = r["statements"] / r["steps"]
        conns = r["checkouts"] / r["steps"]
        rss = f"{r['max_rss_kb_before'] / 1024:.0f} -> {r['max_rss_kb_after'] / 1024:.0f}"
        if mode == "fork":
            per_text = conns_text = redis_text = "(in horse)"
        else:
            per_text, conns_text = f"{per:.1f}", f"{conns:.1f}"
            redis_text = f"{r['redis'] / r['steps']:.1f}"
        print(
            f"{label:<22} {r['steps']:>6} {r['seconds']:>8.2f} {rate:>8.1f} "
            f"{1000 / rate:>8.2f} {1000 * r['cpu_seconds'] / r['steps']:>11.2f} "
            f"{per_text:>9} {conns_text:>10} {redis_text:>10} {rss:>14}"
        )
        if mode == "inproc":
            print(f"  connections after: {r['checked_out']} checked out, {r['pooled']} pooled")
            failed = failed or r["checked_out"] != 0
        if r["statuses"] != {JobStatus.done: r["steps"]} or r["skipped"] != r["steps"]:
            print(f"  {label}: jobs {r['statuses']}, skips recorded {r['skipped']}")
            failed = True
        if mode == "inproc" and rate < GOAL_STEPS_PER_SECOND:
            print(f"  {label}: below the goal of {GOAL_STEPS_PER_SECOND:.0f} steps/s")
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
