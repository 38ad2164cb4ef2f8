"""Acceptance: Redis down is an outage, not a crash. Clicks are still answered and recorded, the
clock keeps doing its database work, the worker waits for Redis instead of exiting, and when
Redis is back every piece of work resumes once: nothing lost, nothing doubled.

Redis "goes down" the way it does in production: its port stops answering. A local port either
refuses connections or forwards them to the real Redis."""

from __future__ import annotations

import os
import select
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

import pytest
from redis import Redis
from rq import Queue, Worker
from sqlmodel import col

from connectors.clock import ManualClock
from db.engine import make_engine, make_session_factory
from db.migrate import upgrade
from db.models import (
    ActionStatus,
    JobRun,
    JobStatus,
    PendingAction,
    SchedulingRequest,
    SequenceJob,
)
from orchestrator.bootstrap import make_queue
from orchestrator.engine.wakeups import WakeUps
from tests.conftest import T0
from tests.support.services import REDIS_URL, redis_db_number
from tests.support.stack import Stack, wait_for

ROOT = Path(__file__).resolve().parent.parent
PROSPECT = "john@acme.example"


class RedisPort:
    """A loopback port that refuses connections (Redis down) or relays them to the real Redis."""

    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        upstream = urlparse(REDIS_URL)
        self.upstream = (upstream.hostname or "127.0.0.1", upstream.port or 6379)
        self._listener: socket.socket | None = None
        self._open: list[socket.socket] = []

    def url(self, db: int) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def up(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def down(self) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        for conn in self._open:
            conn.close()
        self._open.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            self._open += [client, server]
            threading.Thread(target=self._relay, args=(client, server), daemon=True).start()

    @staticmethod
    def _relay(a: socket.socket, b: socket.socket) -> None:
        peers = {a: b, b: a}
        try:
            while True:
                readable, _, _ = select.select([a, b], [], [], 1.0)
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    peers[sock].sendall(data)
        except (OSError, ValueError):
            return
        finally:
            a.close()
            b.close()


@pytest.fixture
def redis_port(real_redis: Redis) -> Iterator[RedisPort]:
    port = RedisPort()
    yield port
    port.down()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue(f"{'sqlite' if request.param == 'sqlite' else 'pg'}_url"))


@pytest.fixture
def outage(database_url: str, redis_port: RedisPort) -> Iterator[Stack]:
    """The whole stack, its Redis down from the start."""
    dead = Redis.from_url(redis_port.url(redis_db_number()), socket_connect_timeout=1)
    with Stack.start(database_url=database_url, redis=dead, clock=ManualClock(T0)) as stack:
        yield stack


def _use_redis(stack: Stack, redis: Redis) -> None:
    """Point the stack's queue at `redis` (the processes reconnect the same way)."""
    stack.deps.redis = redis
    stack.deps.queue = make_queue(stack.deps.settings, redis)
    stack.deps.wakeups = WakeUps(stack.deps.queue)


def test_a_start_click_during_the_outage_is_answered_once_and_runs_when_redis_returns(
    outage: Stack, real_redis: Redis
) -> None:
    stack = outage
    assert stack.command(f"demo with {PROSPECT}").status == 200
    confirm = stack.confirm_card()
    told = stack.command_response(stack.click("start_request", confirm))
    assert told.startswith("*ACME-1*: finding times"), told
    # The rep, seeing nothing happen, clicks Start again on the same card.
    assert stack.command_response(stack.click("start_request", confirm)).startswith(
        "*ACME-1* is already under way"
    )
    assert len(stack.rows(SchedulingRequest)) == 1
    (job,) = stack.rows(SequenceJob)
    assert job.status == JobStatus.queued

    # The clock's tick still does its database work; the wake-up waits for Redis.
    stack.clock.advance(timedelta(minutes=2))
    from orchestrator.timers.tick import tick

    assert tick(stack.deps).reconciled.jobs == 1
    assert [r.counts["jobs"] for r in stack.rows(JobRun, col(JobRun.name) == "reconcile")] == [1]
    assert stack.rows(PendingAction) == []

    _use_redis(stack, real_redis)
    stack.clock.advance(timedelta(minutes=2))
    stack.tick()
    (card,) = wait_for(stack.cards, "the draft's card")
    (action,) = stack.rows(PendingAction)
    assert action.status == ActionStatus.pending
    assert len(stack.rows(SchedulingRequest)) == 1


def test_an_approval_during_the_outage_is_sent_once_when_redis_returns(
    outage: Stack, real_redis: Redis
) -> None:
    stack = outage
    dead = stack.deps.redis
    _use_redis(stack, real_redis)
    stack.schedule(f"demo with {PROSPECT}")
    stack.drain()
    card = wait_for(stack.cards, "the card")[0]

    _use_redis(stack, dead)
    assert stack.click("approve_action", card).status == 200
    wait_for(lambda: stack.rows(PendingAction, col(PendingAction.status) == "approved"), "approve")
    stack.clock.advance(timedelta(seconds=30))
    from orchestrator.timers.tick import tick

    assert tick(stack.deps).reconciled.actions == 1  # found, but it cannot be queued yet
    assert stack.inbox(PROSPECT) == []

    _use_redis(stack, real_redis)
    stack.clock.advance(timedelta(seconds=30))
    stack.tick()
    stack.tick()
    assert len(stack.inbox(PROSPECT)) == 1
    (action,) = stack.rows(PendingAction)
    assert action.status == ActionStatus.executed


def test_healthz_stays_up_without_redis(outage: Stack) -> None:
    import json
    import urllib.request

    url = outage.events_url.replace("/slack/events", "/healthz")
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - local
        assert response.status == 200
        health = json.loads(response.read())
    assert health["ok"] is False and health["database"] == "ok"
    assert health["redis"].startswith("error: ConnectionError")


# --- the real processes ----------------------------------------------------------------------


def _spawn(args: list[str], env: dict[str, str]) -> tuple[subprocess.Popen[str], list[str]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "orchestrator", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
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


def _env(tmp_path: Path, port: RedisPort, queue: str) -> dict[str, str]:
    return {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'convene.db'}",
        "REDIS_URL": port.url(redis_db_number()),
        "QUEUE_NAME": queue,
        "CLOCK_INTERVAL_SECONDS": "0.3",
    }


def test_convene_clock_outlives_a_dead_redis_and_queues_the_work_when_it_returns(
    tmp_path: Path, redis_port: RedisPort, real_redis: Redis
) -> None:
    env = _env(tmp_path, redis_port, queue=f"outage-{uuid.uuid4().hex[:8]}")
    upgrade(env["DATABASE_URL"])
    engine = make_engine(env["DATABASE_URL"])
    lost = uuid.uuid4()
    with make_session_factory(engine)() as session:
        long_ago = T0 - timedelta(days=1)
        session.add(
            SequenceJob(
                id=lost,
                org_id="T0TEAM",
                event_type="scheduling_requested",
                event_source="test",
                idempotency_key="lost-wakeup",
                correlation_id="c",
                run_after=long_ago,
                created_at=long_ago,
                updated_at=long_ago,
            )
        )
        session.commit()
    engine.dispose()

    clock, output = _spawn(["clock"], env)
    try:
        wait_for(
            lambda: sum("rewoken_jobs=1" in line for line in output) >= 3,
            "three ticks with Redis down",
            timeout=30,
        )
        assert clock.poll() is None, "".join(output)
        queue = Queue(env["QUEUE_NAME"], connection=real_redis)
        assert queue.count == 0

        redis_port.up()
        wait_for(lambda: queue.count >= 1, "the lost job queued once Redis is back", timeout=30)
        assert all(str(lost) in job_id for job_id in queue.job_ids)
        assert clock.poll() is None
    finally:
        _stop(clock)


def test_convene_worker_waits_for_redis_and_stops_cleanly(
    tmp_path: Path, redis_port: RedisPort, real_redis: Redis
) -> None:
    env = _env(tmp_path, redis_port, queue=f"outage-{uuid.uuid4().hex[:8]}")
    upgrade(env["DATABASE_URL"])
    worker, output = _spawn(["worker"], env)
    try:
        wait_for(
            lambda: sum("worker_restarting" in line for line in output) >= 2,
            "the worker to wait out two failed starts",
            timeout=30,
        )
        assert worker.poll() is None, "".join(output)
        assert Worker.all(connection=real_redis) == []

        redis_port.up()
        wait_for(lambda: Worker.all(connection=real_redis), "the worker to register", timeout=30)
        # Idle means listening for work, which RQ does only once its stop handlers are set.
        wait_for(
            lambda: [w for w in Worker.all(connection=real_redis) if w.get_state() == "idle"],
            "the worker to listen for work",
            timeout=30,
        )
        assert worker.poll() is None
    finally:
        assert _stop(worker) == 0, "".join(output)
