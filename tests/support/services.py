"""Real PostgreSQL and Redis for the tests, isolated per run and per xdist worker.

Each test process creates its own database (its name carries its creation time, so one left by
a killed run is dropped by a later run after an hour) and claims a Redis DB number with a lease
in DB 0 (0 itself is left to people), so runs started at the same time never share either.

Locally, a missing service skips the tests that need it (with the reason). Under CI=true a
missing service fails the run instead: CI must prove the suite ran against both.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
import uuid

import psycopg
import pytest
from psycopg import sql
from redis import Redis

PG_ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

DB_PREFIX = "convene_test_"
# Longer than any run; a database or Redis lease older than this belongs to a run that died.
STALE_AFTER = 3600


def _probe_pg() -> str | None:
    try:
        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3):
            return None
    except Exception as exc:  # noqa: BLE001 - the reason is reported
        return f"PostgreSQL at {PG_ADMIN_URL} unreachable: {exc}"


def _probe_redis() -> str | None:
    try:
        Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
        return None
    except Exception as exc:  # noqa: BLE001
        return f"Redis at {REDIS_URL} unreachable: {exc}"


CHROMIUM = os.environ.get("TEST_CHROMIUM", "/usr/bin/chromium")


def _probe_chromium() -> str | None:
    # Debian's package (`apt-get install chromium`; .ci/run installs it): Playwright drives it
    # and never downloads a browser of its own.
    if os.access(CHROMIUM, os.X_OK):
        return None
    return f"no Chromium at {CHROMIUM} (apt-get install -y chromium)"


_problems: dict[str, str | None] = {}


def require(service: str) -> None:
    if service not in _problems:
        probes = {"postgres": _probe_pg, "redis": _probe_redis, "chromium": _probe_chromium}
        _problems[service] = probes[service]()
    problem = _problems[service]
    if problem is None:
        return
    if IN_CI:
        pytest.fail(f"CI=true and {problem}", pytrace=False)
    pytest.skip(problem)


# --- PostgreSQL -----------------------------------------------------------------------------


class PostgresDatabase:
    """A throwaway database on the real server, created for this test run and dropped after."""

    def __init__(self) -> None:
        self.name = f"{DB_PREFIX}{int(time.time())}_{uuid.uuid4().hex[:8]}"
        base = PG_ADMIN_URL.rsplit("/", 1)[0]
        self.url = f"{base.replace('postgresql://', 'postgresql+psycopg://', 1)}/{self.name}"
        self._conn: psycopg.Connection | None = None
        self._tables: list[str] = []

    def create(self) -> None:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.name)))

    def drop(self) -> None:
        if self._conn is not None:
            self._conn.close()
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.name))
            )

    def reset(self) -> None:
        """Empty every table a test wrote to, keeping the schema.

        TRUNCATE of all fifteen tables cost more than most tests (a new file per table); one
        query finds the few tables with rows and only those are truncated. Not DELETE: it leaves
        the old tuples' space for new rows, and the app's queries that order on ties (one
        manual clock, one timestamp) would then see rows in a different order than on a fresh
        table.
        """
        conn = self._connection()
        probe = sql.SQL("SELECT {}").format(
            sql.SQL(", ").join(
                sql.SQL("EXISTS (SELECT 1 FROM {})").format(sql.Identifier(t)) for t in self._tables
            )
        )
        row = conn.execute(probe).fetchone() or ()
        dirty = [table for table, has_rows in zip(self._tables, row, strict=True) if has_rows]
        if dirty:
            names = sql.SQL(", ").join(sql.Identifier(t) for t in dirty)
            conn.execute(sql.SQL("TRUNCATE {} CASCADE").format(names))

    def _connection(self) -> psycopg.Connection:
        if self._conn is None:
            url = self.url.replace("postgresql+psycopg://", "postgresql://", 1)
            self._conn = psycopg.connect(url, autocommit=True)
            self._tables = [
                str(name)
                for (name,) in self._conn.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                    "AND tablename <> 'alembic_version' ORDER BY tablename"
                )
            ]
        return self._conn


def drop_stale_databases(max_age: float = STALE_AFTER) -> list[str]:
    """Drop test databases a killed run left behind. A database something is still connected
    to is not abandoned: plain DROP refuses it, and it is left alone."""
    now = time.time()
    dropped = []
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT datname, oid FROM pg_database WHERE datname LIKE %s", (DB_PREFIX + "%",)
        ).fetchall()
        for name, oid in rows:
            created = _created_at(conn, str(name), int(oid))
            if created is None or now - created < max_age:
                continue
            with contextlib.suppress(psycopg.Error):
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
                dropped.append(str(name))
    return dropped


def _created_at(conn: psycopg.Connection, name: str, oid: int) -> float | None:
    stamped = re.fullmatch(re.escape(DB_PREFIX) + r"(\d{10})_[0-9a-f]+", name)
    if stamped:
        return float(stamped.group(1))
    # Older names carry no time: the database directory's age tells (superuser only).
    try:
        row = conn.execute(
            "SELECT extract(epoch FROM (pg_stat_file(%s)).modification)",
            (f"base/{oid}/PG_VERSION",),
        ).fetchone()
    except psycopg.Error:
        return None
    return float(row[0]) if row and row[0] is not None else None


# --- Redis ----------------------------------------------------------------------------------

_LEASE_KEY = "convene-test:redis-db:{}"
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end"
_lease: tuple[int, str] | None = None


def _admin() -> Redis:
    return Redis.from_url(f"{REDIS_URL.rstrip('/')}/0")


def redis_db_number() -> int:
    """This process's own Redis DB number (1-15), claimed on first use and held by a lease.

    Runs and xdist workers started together would collide on anything derived from the pid;
    SET NX in DB 0 hands each one a free number. A killed run's lease lapses after an hour.
    """
    global _lease
    if _lease is None:
        _lease = _claim()
    return _lease[0]


def renew_redis_db() -> None:
    if _lease is not None and _lease[1]:
        _admin().expire(_LEASE_KEY.format(_lease[0]), STALE_AFTER)


def release_redis_db() -> None:
    global _lease
    if _lease is None or not _lease[1]:
        return
    number, token = _lease
    _lease = None
    with contextlib.suppress(Exception):
        _admin().eval(_RELEASE, 1, _LEASE_KEY.format(number), token)


def _claim(wait: float = 120.0) -> tuple[int, str]:
    admin = _admin()
    if _probe_redis() is not None:
        # No server, nothing to share: the number only has to be well formed.
        return os.getpid() % 15 + 1, ""
    token = f"{os.getpid()}-{uuid.uuid4().hex}"
    start = os.getpid() % 15
    deadline = time.monotonic() + wait
    while True:
        for offset in range(15):
            number = (start + offset) % 15 + 1
            if admin.set(_LEASE_KEY.format(number), token, nx=True, ex=STALE_AFTER):
                # What a killed run left there is no one's any more.
                Redis.from_url(f"{REDIS_URL.rstrip('/')}/{number}").flushdb()
                return number, token
        if time.monotonic() > deadline:
            raise RuntimeError("all 15 Redis test DB numbers are leased by other test runs")
        time.sleep(0.5)
