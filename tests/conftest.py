"""Shared fixtures: databases (SQLite and real PostgreSQL), queues (fakeredis and real Redis),
a fixed clock, and the whole stack behind a real HTTP server with a local Slack stand-in."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import fakeredis
import pytest
from hypothesis import settings as hypothesis_settings
from redis import Redis

from connectors.clock import ManualClock
from db.migrate import upgrade
from tests.support.services import (
    REDIS_URL,
    PostgresDatabase,
    drop_stale_databases,
    redis_db_number,
    release_redis_db,
    renew_redis_db,
    require,
)
from tests.support.stack import Stack

# CI replays the same examples every run (a red build must be reproducible); local runs keep
# exploring new ones, which is where new counterexamples come from.
hypothesis_settings.register_profile("ci", derandomize=True, deadline=None)
hypothesis_settings.register_profile("dev", deadline=None)
hypothesis_settings.load_profile("ci" if os.environ.get("CI") else "dev")


def pytest_report_header() -> list[str]:
    from tests.support.services import IN_CI, PG_ADMIN_URL, _probe_pg, _probe_redis

    pg, redis = _probe_pg(), _probe_redis()
    return [
        f"postgres: {PG_ADMIN_URL} {'reachable' if pg is None else 'UNAVAILABLE: ' + pg}",
        f"redis: {REDIS_URL} {'reachable' if redis is None else 'UNAVAILABLE: ' + redis}",
        f"CI={IN_CI} (a missing service {'fails' if IN_CI else 'skips'} the tests needing it)",
    ]


# A Monday morning in New York; tests move it by hand.
T0 = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture(scope="session")
def pg_database() -> Iterator[PostgresDatabase]:
    require("postgres")
    drop_stale_databases()
    database = PostgresDatabase()
    database.create()
    upgrade(database.url)
    yield database
    database.drop()


@pytest.fixture
def pg_url(pg_database: PostgresDatabase) -> str:
    pg_database.reset()
    return pg_database.url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrated once per process: an Alembic upgrade on a new file cost most of a second."""
    path = tmp_path_factory.mktemp("sqlite-template") / "convene.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    target = tmp_path / sqlite_template.name
    for suffix in ("", "-wal"):  # the upgrade's engine is disposed, so no WAL is expected
        source = sqlite_template.with_name(sqlite_template.name + suffix)
        if source.exists():
            shutil.copyfile(source, target.with_name(target.name + suffix))
    return f"sqlite:///{target}"


@pytest.fixture
def real_redis() -> Iterator[Redis]:
    require("redis")
    base = REDIS_URL.rstrip("/")
    redis = Redis.from_url(f"{base}/{redis_db_number()}")
    renew_redis_db()
    redis.flushdb()
    yield redis
    redis.flushdb()
    redis.close()


def pytest_sessionfinish() -> None:
    release_redis_db()


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> tuple[str, Redis]:
    """Run the test on the embedded stack (SQLite + fakeredis) and on PostgreSQL + Redis."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url"), fakeredis.FakeRedis()
    return request.getfixturevalue("pg_url"), request.getfixturevalue("real_redis")


@pytest.fixture
def stack(backend: tuple[str, Redis], clock: ManualClock) -> Iterator[Stack]:
    url, redis = backend
    with Stack.start(database_url=url, redis=redis, clock=clock) as running:
        yield running


@pytest.fixture
def pg_stack(pg_url: str, real_redis: Redis, clock: ManualClock) -> Iterator[Stack]:
    with Stack.start(database_url=pg_url, redis=real_redis, clock=clock) as running:
        yield running


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto` is one worker per core, but at most 4: each worker leases one of the 15 Redis
    DB numbers, and several runs may share a machine."""
    return max(1, min(os.cpu_count() or 1, 4))
