"""Real PostgreSQL and Redis for the tests: one database and one Redis DB number per run.

Locally, a missing service skips the tests that need it (with the reason). Under CI=true a
missing service fails the run instead: CI must prove the suite ran against both.
"""

from __future__ import annotations

import os
import uuid

import psycopg
import pytest
from redis import Redis

PG_ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


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


_problems: dict[str, str | None] = {}


def require(service: str) -> None:
    if service not in _problems:
        _problems[service] = {"postgres": _probe_pg, "redis": _probe_redis}[service]()
    problem = _problems[service]
    if problem is None:
        return
    if IN_CI:
        pytest.fail(f"CI=true and {problem}", pytrace=False)
    pytest.skip(problem)


class PostgresDatabase:
    """A throwaway database on the real server, created for this test run and dropped after."""

    def __init__(self) -> None:
        self.name = f"convene_test_{uuid.uuid4().hex[:10]}"
        base = PG_ADMIN_URL.rsplit("/", 1)[0]
        self.url = f"{base.replace('postgresql://', 'postgresql+psycopg://', 1)}/{self.name}"

    def create(self) -> None:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.name}"')

    def drop(self) -> None:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def redis_db_number() -> int:
    """A DB number of our own (1–15; 0 is left to people), spread by process id."""
    return os.getpid() % 15 + 1
